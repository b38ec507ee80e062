package train

// PeakRSS returns the peak resident set size of this process in bytes, or
// 0 where the platform does not report it.
func PeakRSS() int64 { return peakRSS() }
