package agent

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
)

// ApplyConfigFile reads the config file of `edgecnn run --config` (the one
// `edgecnn flash --config` installs beside the model): a JSON object of
// flag values, keys being flag names without dashes. In key order, it
// refuses a key that is not known (or is "config"), skips one isSet
// reports (the command line wins) and passes the others to set as the
// flag's text: strings as they are, booleans as true/false, whole numbers
// without an exponent.
func ApplyConfigFile(path string, known, isSet func(name string) bool, set func(name, value string) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var kv map[string]any
	if err := json.Unmarshal(b, &kv); err != nil {
		return fmt.Errorf("config %s: not a JSON object of flag values: %w", path, err)
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "config" || !known(k) {
			return fmt.Errorf("config %s: unknown setting %q (settings are the flags of this command)", path, k)
		}
		if isSet(k) {
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
		if err := set(k, s); err != nil {
			return fmt.Errorf("config %s: setting %q=%q: %w", path, k, s, err)
		}
	}
	return nil
}
