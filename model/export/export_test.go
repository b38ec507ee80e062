package export

import "testing"

func TestFormat(t *testing.T) {
	for _, c := range []struct{ format, out, want string }{
		{"", "m.tflite", "tflite"}, {"", "M.ONNX", "onnx"}, {"ONNX", "m.bin", "onnx"}, {"tflite", "m.onnx", "tflite"},
	} {
		if got, err := Format(c.format, c.out); err != nil || got != c.want {
			t.Errorf("Format(%q, %q) = %q, %v; want %q", c.format, c.out, got, err, c.want)
		}
	}
	for _, c := range []struct{ format, out string }{{"", "m.bin"}, {"pb", "m.tflite"}} {
		if _, err := Format(c.format, c.out); err == nil {
			t.Errorf("Format(%q, %q): no error", c.format, c.out)
		}
	}
}
