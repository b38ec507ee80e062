//go:build tflite

package tflite

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include "tensorflow/lite/c/c_api.h"
#include "tensorflow/lite/c/c_api_experimental.h"
#include "xnnpack_shim.h"

// Every TensorFlow Lite C function that go-tflite and this package call is
// defined here and forwards to the library opened with dlopen, so binaries
// do not need libtensorflowlite_c.so to start (link with -Wl,--as-needed to
// drop go-tflite's -ltensorflowlite_c from the executable's dependencies)
// and a missing library is an error at Open. The definitions include the
// library's own headers, so the compiler checks every signature.

static void* edgecnn_tfl;

static void edgecnn_tfl_unloaded(const char* fn) {
  fprintf(stderr, "edgecnn: %s called before libtensorflowlite_c.so was loaded\n", fn);
  abort();
}

#define EDGECNN_FWD(ret, name, params, args)                     \
  static ret(*p_##name) params;                                  \
  ret name params {                                              \
    if (p_##name == NULL) edgecnn_tfl_unloaded(#name);           \
    return p_##name args;                                        \
  }
#define EDGECNN_FWDV(name, params, args)                         \
  static void(*p_##name) params;                                 \
  void name params {                                             \
    if (p_##name == NULL) edgecnn_tfl_unloaded(#name);           \
    p_##name args;                                               \
  }

EDGECNN_FWD(const char*, TfLiteVersion, (void), ())
EDGECNN_FWD(TfLiteModel*, TfLiteModelCreate, (const void* d, size_t n), (d, n))
EDGECNN_FWD(TfLiteModel*, TfLiteModelCreateFromFile, (const char* p), (p))
EDGECNN_FWDV(TfLiteModelDelete, (TfLiteModel* m), (m))
EDGECNN_FWD(TfLiteInterpreterOptions*, TfLiteInterpreterOptionsCreate, (), ())
EDGECNN_FWDV(TfLiteInterpreterOptionsDelete, (TfLiteInterpreterOptions* o), (o))
EDGECNN_FWDV(TfLiteInterpreterOptionsSetNumThreads, (TfLiteInterpreterOptions* o, int32_t n), (o, n))
EDGECNN_FWDV(TfLiteInterpreterOptionsAddDelegate, (TfLiteInterpreterOptions* o, TfLiteDelegate* d), (o, d))
EDGECNN_FWDV(TfLiteInterpreterOptionsSetErrorReporter,
             (TfLiteInterpreterOptions* o, void (*r)(void*, const char*, va_list), void* u), (o, r, u))
EDGECNN_FWDV(TfLiteInterpreterOptionsSetUseNNAPI, (TfLiteInterpreterOptions* o, bool e), (o, e))
EDGECNN_FWDV(TfLiteInterpreterOptionsAddBuiltinOp,
             (TfLiteInterpreterOptions* o, TfLiteBuiltinOperator op, const TfLiteRegistration* r, int32_t lo, int32_t hi),
             (o, op, r, lo, hi))
EDGECNN_FWDV(TfLiteInterpreterOptionsAddCustomOp,
             (TfLiteInterpreterOptions* o, const char* name, const TfLiteRegistration* r, int32_t lo, int32_t hi),
             (o, name, r, lo, hi))
EDGECNN_FWD(TfLiteInterpreter*, TfLiteInterpreterCreate, (const TfLiteModel* m, const TfLiteInterpreterOptions* o), (m, o))
EDGECNN_FWDV(TfLiteInterpreterDelete, (TfLiteInterpreter* i), (i))
EDGECNN_FWD(TfLiteStatus, TfLiteInterpreterResetVariableTensors, (TfLiteInterpreter* i), (i))
EDGECNN_FWD(int32_t, TfLiteInterpreterGetInputTensorCount, (const TfLiteInterpreter* i), (i))
EDGECNN_FWD(TfLiteTensor*, TfLiteInterpreterGetInputTensor, (const TfLiteInterpreter* i, int32_t k), (i, k))
EDGECNN_FWD(TfLiteStatus, TfLiteInterpreterResizeInputTensor,
            (TfLiteInterpreter* i, int32_t k, const int* dims, int32_t n), (i, k, dims, n))
EDGECNN_FWD(TfLiteStatus, TfLiteInterpreterAllocateTensors, (TfLiteInterpreter* i), (i))
EDGECNN_FWD(TfLiteStatus, TfLiteInterpreterInvoke, (TfLiteInterpreter* i), (i))
EDGECNN_FWD(int32_t, TfLiteInterpreterGetOutputTensorCount, (const TfLiteInterpreter* i), (i))
EDGECNN_FWD(const TfLiteTensor*, TfLiteInterpreterGetOutputTensor, (const TfLiteInterpreter* i, int32_t k), (i, k))
EDGECNN_FWD(TfLiteType, TfLiteTensorType, (const TfLiteTensor* t), (t))
EDGECNN_FWD(int32_t, TfLiteTensorNumDims, (const TfLiteTensor* t), (t))
EDGECNN_FWD(int32_t, TfLiteTensorDim, (const TfLiteTensor* t, int32_t k), (t, k))
EDGECNN_FWD(size_t, TfLiteTensorByteSize, (const TfLiteTensor* t), (t))
EDGECNN_FWD(void*, TfLiteTensorData, (const TfLiteTensor* t), (t))
EDGECNN_FWD(const char*, TfLiteTensorName, (const TfLiteTensor* t), (t))
EDGECNN_FWD(TfLiteQuantizationParams, TfLiteTensorQuantizationParams, (const TfLiteTensor* t), (t))
EDGECNN_FWD(TfLiteStatus, TfLiteTensorCopyFromBuffer, (TfLiteTensor* t, const void* d, size_t n), (t, d, n))
EDGECNN_FWD(TfLiteStatus, TfLiteTensorCopyToBuffer, (const TfLiteTensor* t, void* d, size_t n), (t, d, n))
EDGECNN_FWD(TfLiteDelegate*, TfLiteXNNPackDelegateCreate, (const edgecnn_xnnpack_options* o), (o))
EDGECNN_FWDV(TfLiteXNNPackDelegateDelete, (TfLiteDelegate* d), (d))

// edgecnn_tfl_load opens path and resolves every forwarded symbol. It
// returns NULL on success, else a message (static or from dlerror).
static const char* edgecnn_tfl_load(const char* path, const char** missing) {
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) return dlerror();
#define EDGECNN_SYM(name)                              \
  if ((*(void**)&p_##name = dlsym(h, #name)) == NULL) { \
    *missing = #name;                                  \
    return "symbol not found";                         \
  }
  EDGECNN_SYM(TfLiteVersion)
  EDGECNN_SYM(TfLiteModelCreate)
  EDGECNN_SYM(TfLiteModelCreateFromFile)
  EDGECNN_SYM(TfLiteModelDelete)
  EDGECNN_SYM(TfLiteInterpreterOptionsCreate)
  EDGECNN_SYM(TfLiteInterpreterOptionsDelete)
  EDGECNN_SYM(TfLiteInterpreterOptionsSetNumThreads)
  EDGECNN_SYM(TfLiteInterpreterOptionsAddDelegate)
  EDGECNN_SYM(TfLiteInterpreterOptionsSetErrorReporter)
  EDGECNN_SYM(TfLiteInterpreterOptionsSetUseNNAPI)
  EDGECNN_SYM(TfLiteInterpreterOptionsAddBuiltinOp)
  EDGECNN_SYM(TfLiteInterpreterOptionsAddCustomOp)
  EDGECNN_SYM(TfLiteInterpreterCreate)
  EDGECNN_SYM(TfLiteInterpreterDelete)
  EDGECNN_SYM(TfLiteInterpreterResetVariableTensors)
  EDGECNN_SYM(TfLiteInterpreterGetInputTensorCount)
  EDGECNN_SYM(TfLiteInterpreterGetInputTensor)
  EDGECNN_SYM(TfLiteInterpreterResizeInputTensor)
  EDGECNN_SYM(TfLiteInterpreterAllocateTensors)
  EDGECNN_SYM(TfLiteInterpreterInvoke)
  EDGECNN_SYM(TfLiteInterpreterGetOutputTensorCount)
  EDGECNN_SYM(TfLiteInterpreterGetOutputTensor)
  EDGECNN_SYM(TfLiteTensorType)
  EDGECNN_SYM(TfLiteTensorNumDims)
  EDGECNN_SYM(TfLiteTensorDim)
  EDGECNN_SYM(TfLiteTensorByteSize)
  EDGECNN_SYM(TfLiteTensorData)
  EDGECNN_SYM(TfLiteTensorName)
  EDGECNN_SYM(TfLiteTensorQuantizationParams)
  EDGECNN_SYM(TfLiteTensorCopyFromBuffer)
  EDGECNN_SYM(TfLiteTensorCopyToBuffer)
  EDGECNN_SYM(TfLiteXNNPackDelegateCreate)
  EDGECNN_SYM(TfLiteXNNPackDelegateDelete)
#undef EDGECNN_SYM
  edgecnn_tfl = h;
  return NULL;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// LibraryName is the TensorFlow Lite C library's file name.
const LibraryName = "libtensorflowlite_c.so"

// LibraryEnv names the environment variable holding the library's path.
const LibraryEnv = "EDGECNN_TFLITE_LIB"

// Install says how to get the library; it is part of the errors.
const Install = "on a board, the library belongs in lib/ next to the edgecnn binary: edgecnn build/flash --backend tflite bundles it " +
	"(or set " + LibraryEnv + " to its path); on a development machine, make libs fetches TensorFlow Lite 2.9's " + LibraryName +
	" (npm package tfjs-tflite-node@0.0.2, linux amd64 and arm64) into .cache/libs/tflite/linux-$GOARCH/lib and make build-full puts it next to bin/edgecnn-full"

// ErrLibrary reports that the TensorFlow Lite library cannot be loaded.
var ErrLibrary = errors.New("TensorFlow Lite library not available")

// lib is the loaded library: once loaded it stays for the life of the
// process (TFLite objects may outlive any engine's bookkeeping, and the
// forwarding stubs are process-wide), so later engines must use the same.
var lib struct {
	sync.Mutex
	path string
}

// libraryPath chooses the library: explicit, $EDGECNN_TFLITE_LIB, lib/
// next to the executable (bin/edgecnn-full's bundle), or the soname for the
// dynamic loader's search path (LD_LIBRARY_PATH, the binary's RUNPATH,
// ldconfig).
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

// load opens the TensorFlow Lite library at path (once per process).
func load(path string) error {
	if strings.ContainsRune(path, '/') {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("tflite: %w: %s not found (%v); %s", ErrLibrary, path, err, Install)
		}
	}
	lib.Lock()
	defer lib.Unlock()
	if lib.path != "" {
		if lib.path != path {
			return fmt.Errorf("tflite: %s is already loaded in this process; cannot also load %s", lib.path, path)
		}
		return nil
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var missing *C.char
	if msg := C.edgecnn_tfl_load(cpath, &missing); msg != nil {
		if missing != nil {
			return fmt.Errorf("tflite: %w: %s has no %s (not TensorFlow Lite 2.9's C library?); %s", ErrLibrary, path, C.GoString(missing), Install)
		}
		return fmt.Errorf("tflite: %w: loading %s: %s; %s", ErrLibrary, path, C.GoString(msg), Install)
	}
	lib.path = path
	return nil
}

// Version is the TensorFlow Lite library's version string, loading the
// library from its default place if no engine has yet.
func Version() (string, error) {
	if err := load(libraryPath("")); err != nil {
		return "", err
	}
	return C.GoString(C.TfLiteVersion()), nil
}
