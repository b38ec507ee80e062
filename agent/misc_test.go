package agent

import (
	"bytes"
	"hash/crc32"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/camera/preprocess"
)

func crc(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// newMultipart writes a form with one file field and returns its content type.
func newMultipart(b *bytes.Buffer, field, name string, data []byte) string {
	mw := multipart.NewWriter(b)
	mw.WriteField("note", "ignored")
	fw, _ := mw.CreateFormFile(field, name)
	fw.Write(data)
	mw.Close()
	return mw.FormDataContentType()
}

func TestGPIOUnavailable(t *testing.T) {
	if tr, led, err := OpenGPIO("", ""); tr != nil || led != nil || err != nil {
		t.Fatal("no GPIO flags must not touch the hardware")
	}
	_, _, err := OpenGPIO("GPIO17", "")
	if err == nil {
		t.Skip("this machine has a GPIO17") // a real board: nothing to test here
	}
	if !strings.Contains(err.Error(), "GPIO17") && !strings.Contains(err.Error(), "host.Init") {
		t.Fatalf("error does not name the problem: %v", err)
	}
	_, _, err = OpenGPIO("", "NOPE99")
	if err == nil || !strings.Contains(err.Error(), "NOPE99") {
		t.Fatalf("led pin: %v", err)
	}
}

func preprocessMulti() preprocess.Config { return preprocess.Config{Multi: true} }
