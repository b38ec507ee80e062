package data

// SourceFlags is the --data flag of train, eval and quantize (package
// cliflags reads the tags; each command puts its own words first, see
// cliflags.Prefix).
type SourceFlags struct {
	Data []string `flag:"data" default:"data/mnist" usage:"; repeat to mix sources: MNIST IDX folders and image folders DIR/<label>/*.{png,jpg,jpeg,gif,pgm,ppm} (labels 0..9, x = not a digit, 00..99 = two touching digits: a segmentation judge, edgecnn judgeset)"`
}

// MixFlags are the data-source flags of commands that mix sources per
// batch (train, quantize); see OpenMixed.
type MixFlags struct {
	SourceFlags
	Mix string `flag:"mix" usage:"weights of the --data sources in every batch, e.g. 1,1 (default: an equal share each)"`
}
