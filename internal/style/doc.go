// Package style holds repository-wide checks on the shape of the code,
// run as tests (see style_test.go): they read every Go file of the module
// and hold no code of their own.
package style
