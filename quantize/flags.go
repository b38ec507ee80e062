package quantize

// CalibFlags are the calibration flags shared by edgecnn quantize and
// edgecnn export --int8 (the tags declare them; package cliflags).
type CalibFlags struct {
	Calib  int    `flag:"calib" default:"1000" usage:"calibration images (the first N training images)"`
	Val    int    `flag:"val" default:"1000" usage:"validation images for --method auto (the training images after the calibration ones)"`
	Method string `flag:"method" default:"auto" usage:"calibration: minmax, percentile, entropy, mse or auto"`
}
