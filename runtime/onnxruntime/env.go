//go:build onnxruntime

package onnxruntime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryName is the ONNX Runtime shared library's file name.
const LibraryName = "libonnxruntime.so.1"

// LibraryEnv names the environment variable holding the library's path.
const LibraryEnv = "EDGECNN_ORT_LIB"

// Install says how to get the library; it is part of the errors.
const Install = "on a board, the library belongs in lib/ next to the edgecnn binary: edgecnn build/flash --backend onnxruntime bundles it " +
	"(or set " + LibraryEnv + " to its " + LibraryName + "); on a development machine, make libs fetches ONNX Runtime 1.30 " +
	"(npm package onnxruntime-node@1.30.0) into .cache/libs/onnxruntime/linux-$GOARCH/lib and make build-full puts it next to bin/edgecnn-full"

// ErrLibrary reports that the ONNX Runtime library cannot be loaded.
var ErrLibrary = errors.New("ONNX Runtime library not available")

// env is onnxruntime_go's process-global environment (one loaded library,
// one OrtEnv). The first engine initializes it with its library; the last
// Close destroys it (and unloads the library). Engines opened meanwhile
// share it, so they must agree on the library path. A mutex-guarded
// reference count rather than a sync.Once, because the environment can be
// torn down and initialized again. This counter is the package's only
// global state, forced by onnxruntime_go's design.
var env struct {
	sync.Mutex
	refs int
	lib  string
}

// libraryPath chooses the library: explicit, $EDGECNN_ORT_LIB, lib/ next
// to the executable (the bundle layout of bin/edgecnn-full), or the soname
// for the dynamic loader's search path.
func libraryPath(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if p := os.Getenv(LibraryEnv); p != "" {
		return p
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "lib", LibraryName)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return LibraryName
}

// acquire initializes the environment with lib, or joins the live one.
func acquire(lib string) error {
	env.Lock()
	defer env.Unlock()
	if env.refs > 0 {
		if lib != env.lib {
			return fmt.Errorf("onnxruntime: %s is already loaded in this process; cannot also load %s", env.lib, lib)
		}
		env.refs++
		return nil
	}
	if strings.ContainsRune(lib, '/') {
		if _, err := os.Stat(lib); err != nil {
			return fmt.Errorf("onnxruntime: %w: %s not found (%v); %s", ErrLibrary, lib, err, Install)
		}
	}
	ort.SetSharedLibraryPath(lib)
	// Fatal only: every error also comes back as a Go error, and ONNX
	// Runtime would otherwise print each one (e.g. a missing CUDA provider).
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return fmt.Errorf("onnxruntime: %w: loading %s: %v; %s", ErrLibrary, lib, err, Install)
	}
	env.refs, env.lib = 1, lib
	return nil
}

// release drops one reference; the last one destroys the environment.
func release() error {
	env.Lock()
	defer env.Unlock()
	if env.refs == 0 {
		return nil
	}
	env.refs--
	if env.refs > 0 {
		return nil
	}
	env.lib = ""
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("onnxruntime: destroying the environment: %w", err)
	}
	return nil
}
