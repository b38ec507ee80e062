package camera

import (
	"bufio"
	"io"
)

type bufioR = bufio.Reader

func newBufio(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
