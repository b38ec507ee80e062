package deploy

import (
	"reflect"
	"testing"
)

// TestFlagDefaultsMatchConstants: the default tags of the flag structs
// (package cliflags) repeat constants of this package; they must agree.
func TestFlagDefaultsMatchConstants(t *testing.T) {
	for _, c := range []struct {
		v     any
		field string
		want  string
	}{
		{Service{}, "Prefix", DefaultPrefix},
		{StatusOptions{}, "Prefix", DefaultPrefix},
		{BundleRequest{}, "Prefix", DefaultPrefix},
		{PullRequest{}, "RemoteDir", DefaultCollectDir},
	} {
		f, ok := reflect.TypeOf(c.v).FieldByName(c.field)
		if !ok {
			t.Fatalf("%T has no field %s", c.v, c.field)
		}
		if got := f.Tag.Get("default"); got != c.want {
			t.Errorf("%T.%s: default tag %q, want %q", c.v, c.field, got, c.want)
		}
	}
}
