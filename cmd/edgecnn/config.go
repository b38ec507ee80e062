package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/urfave/cli/v2"
)

// applyConfig reads a JSON object of flag values (keys are flag names
// without dashes) and sets every flag the command line did not set. This is
// the config file `edgecnn flash --config` installs beside the model.
func applyConfig(c *cli.Context, path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var kv map[string]any
	if err := json.Unmarshal(b, &kv); err != nil {
		return fmt.Errorf("config %s: not a JSON object of flag values: %w", path, err)
	}
	var names []string
	for _, f := range c.Command.Flags {
		names = append(names, f.Names()...)
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "config" || !slices.Contains(names, k) {
			return fmt.Errorf("config %s: unknown setting %q (settings are the flags of this command)", path, k)
		}
		if c.IsSet(k) {
			continue // the command line wins
		}
		var s string
		switch v := kv[k].(type) {
		case string:
			s = v
		case bool:
			s = strconv.FormatBool(v)
		case float64:
			s = strconv.FormatFloat(v, 'g', -1, 64)
			if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
				s = strconv.FormatInt(int64(v), 10) // 8388608, not 8.388608e+06 (integer flags)
			}
		default:
			return fmt.Errorf("config %s: setting %q: want a string, number or boolean", path, k)
		}
		if err := c.Set(k, s); err != nil {
			return fmt.Errorf("config %s: setting %q=%q: %w", path, k, s, err)
		}
	}
	return nil
}
