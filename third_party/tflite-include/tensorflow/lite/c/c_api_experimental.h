/* Minimal tensorflow/lite/c/c_api_experimental.h for TensorFlow Lite 2.9's
 * C library, written for edgecnn (the npm package tfjs-tflite-node@0.0.2
 * ships libtensorflowlite_c.so with c_api.h, c_api_types.h and common.h but
 * without this header).
 *
 * It declares only what github.com/mattn/go-tflite v1.0.4 uses
 * (tflite_experimental.go): the TfLiteBuiltinOperator type and four
 * functions, all exported by libtensorflowlite_c.so 2.9
 * (nm -D --defined-only libtensorflowlite_c.so). The signatures follow the
 * public TensorFlow Lite 2.9 C API. */
#ifndef EDGECNN_TFLITE_C_API_EXPERIMENTAL_H_
#define EDGECNN_TFLITE_C_API_EXPERIMENTAL_H_

#include <stdbool.h>
#include <stdint.h>

#include "tensorflow/lite/c/c_api.h"
#include "tensorflow/lite/c/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* TfLiteBuiltinOperator is a C enum in TFLite's builtin_ops.h (not shipped);
 * its values are the schema's BuiltinOperator codes and it is passed as an
 * int, which is all callers here need. */
#ifndef TENSORFLOW_LITE_BUILTIN_OPS_H_
typedef enum {
  kTfLiteBuiltinAdd = 0,
  kTfLiteBuiltinConv2d = 3,
  kTfLiteBuiltinDequantize = 6,
  kTfLiteBuiltinFullyConnected = 9,
  kTfLiteBuiltinMaxPool2d = 17,
  kTfLiteBuiltinReshape = 22,
  kTfLiteBuiltinSoftmax = 25,
  kTfLiteBuiltinQuantize = 114,
  kTfLiteBuiltinLast = 0x7fffffff
} TfLiteBuiltinOperator;
#endif

/* Resets all variable tensors to their default values. */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteInterpreterResetVariableTensors(
    TfLiteInterpreter* interpreter);

/* Adds an op registration for a builtin operator code. */
TFL_CAPI_EXPORT void TfLiteInterpreterOptionsAddBuiltinOp(
    TfLiteInterpreterOptions* options, TfLiteBuiltinOperator op,
    const TfLiteRegistration* registration, int32_t min_version,
    int32_t max_version);

/* Adds an op registration for a custom operator name. */
TFL_CAPI_EXPORT void TfLiteInterpreterOptionsAddCustomOp(
    TfLiteInterpreterOptions* options, const char* name,
    const TfLiteRegistration* registration, int32_t min_version,
    int32_t max_version);

/* Enables or disables the Android NN API (a no-op on Linux). */
TFL_CAPI_EXPORT extern void TfLiteInterpreterOptionsSetUseNNAPI(
    TfLiteInterpreterOptions* options, bool enable);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* EDGECNN_TFLITE_C_API_EXPERIMENTAL_H_ */
