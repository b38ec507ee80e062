//go:build tflite

package tflite

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include "xnnpack_shim.h"

static TfLiteDelegate* edgecnn_xnnpack_create(int32_t threads, uint32_t flags) {
  edgecnn_xnnpack_options o = {0};
  o.num_threads = threads;
  o.flags = flags;
  return TfLiteXNNPackDelegateCreate(&o);
}

// dlopen and dlerror in one call so the message belongs to this thread.
static void* edgecnn_dlopen(const char* name, const char** err) {
  void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) *err = dlerror();
  return h;
}

static void* edgecnn_dlsym(void* h, const char* name) { return dlsym(h, name); }

// The TFLite external-delegate plugin ABI that libedgetpu exports.
typedef TfLiteDelegate* (*edgecnn_plugin_create)(char** keys, char** values, size_t n,
                                                  void (*report_error)(const char*));
typedef void (*edgecnn_plugin_destroy)(TfLiteDelegate*);

static TfLiteDelegate* edgecnn_plugin_call_create(void* fn) {
  return ((edgecnn_plugin_create)fn)(NULL, NULL, 0, NULL);
}
static void edgecnn_plugin_call_destroy(void* fn, TfLiteDelegate* d) {
  ((edgecnn_plugin_destroy)fn)(d);
}
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"
)

// EdgeTPULibrary is the Edge TPU runtime's shared library, loaded at run
// time so that binaries start on machines without it.
const EdgeTPULibrary = "libedgetpu.so.1"

// EdgeTPUInstall is the install step named in errors.
const EdgeTPUInstall = "install the Edge TPU runtime: add Coral's apt repository " +
	"(echo 'deb https://packages.cloud.google.com/apt coral-edgetpu-stable main' > /etc/apt/sources.list.d/coral-edgetpu.list, " +
	"plus its key) and run 'apt-get install libedgetpu1-std'"

// delegate is a TfLiteDelegate with its destructor; it satisfies
// go-tflite's delegates.Delegater so it can be added to interpreter options.
type delegate struct {
	name    string
	ptr     *C.TfLiteDelegate
	destroy func(*C.TfLiteDelegate)
	lib     unsafe.Pointer // dlopen handle, closed after destroy
}

func (d *delegate) Ptr() unsafe.Pointer { return unsafe.Pointer(d.ptr) }

// Delete frees the delegate; it must run after the interpreter that uses it
// is deleted. Safe to call twice.
func (d *delegate) Delete() {
	if d == nil || d.ptr == nil {
		return
	}
	d.destroy(d.ptr)
	d.ptr = nil
	if d.lib != nil {
		C.dlclose(d.lib)
		d.lib = nil
	}
}

// newXNNPACK creates TFLite's built-in XNNPACK delegate with signed and
// unsigned 8-bit inference enabled (TFLite 2.9 leaves them off by default,
// which would keep int8 models on the built-in kernels).
func newXNNPACK(threads int) (*delegate, error) {
	if threads < 0 {
		threads = 0
	}
	d := C.edgecnn_xnnpack_create(C.int32_t(threads), C.EDGECNN_XNNPACK_FLAG_QS8|C.EDGECNN_XNNPACK_FLAG_QU8)
	if d == nil {
		return nil, fmt.Errorf("tflite: TfLiteXNNPackDelegateCreate failed")
	}
	return &delegate{name: "xnnpack", ptr: d, destroy: func(p *C.TfLiteDelegate) { C.TfLiteXNNPackDelegateDelete(p) }}, nil
}

// EdgeTPUEnv names the environment variable holding the Edge TPU
// library's path.
const EdgeTPUEnv = "EDGECNN_EDGETPU_LIB"

// edgeTPULibrary is the library to load: $EDGECNN_EDGETPU_LIB or the soname
// on the loader's search path.
func edgeTPULibrary() string {
	if p := os.Getenv(EdgeTPUEnv); p != "" {
		return p
	}
	return EdgeTPULibrary
}

// newEdgeTPU loads lib with dlopen and creates the Edge TPU delegate through
// the TFLite external-delegate plugin entry points it exports.
func newEdgeTPU(lib string) (*delegate, error) {
	cname := C.CString(lib)
	defer C.free(unsafe.Pointer(cname))
	var cerr *C.char
	h := C.edgecnn_dlopen(cname, &cerr)
	if h == nil {
		return nil, fmt.Errorf("tflite: Edge TPU delegate: cannot load %s (%s); %s, or pass --fallback to run on the CPU",
			lib, C.GoString(cerr), EdgeTPUInstall)
	}
	sym := func(name string) unsafe.Pointer {
		cs := C.CString(name)
		defer C.free(unsafe.Pointer(cs))
		return C.edgecnn_dlsym(h, cs)
	}
	create, destroy := sym("tflite_plugin_create_delegate"), sym("tflite_plugin_destroy_delegate")
	if create == nil || destroy == nil {
		C.dlclose(h)
		return nil, fmt.Errorf("tflite: Edge TPU delegate: %s lacks tflite_plugin_create_delegate/tflite_plugin_destroy_delegate (not the Edge TPU runtime?); %s", lib, EdgeTPUInstall)
	}
	d := C.edgecnn_plugin_call_create(create)
	if d == nil {
		C.dlclose(h)
		return nil, fmt.Errorf("tflite: Edge TPU delegate: %s loaded but found no Edge TPU (is the Coral device plugged in and accessible?); pass --fallback to run on the CPU", lib)
	}
	return &delegate{name: "edgetpu", ptr: d, lib: h,
		destroy: func(p *C.TfLiteDelegate) { C.edgecnn_plugin_call_destroy(destroy, p) }}, nil
}
