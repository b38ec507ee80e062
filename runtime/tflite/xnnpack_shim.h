/* TfLiteXNNPackDelegateOptions as in TensorFlow Lite 2.9's
 * tensorflow/lite/delegates/xnnpack/xnnpack_delegate.h, whose header the C
 * library's distribution does not ship. TfLiteXNNPackDelegateCreate and
 * TfLiteXNNPackDelegateDelete are exported by libtensorflowlite_c.so 2.9. */
#ifndef EDGECNN_XNNPACK_SHIM_H_
#define EDGECNN_XNNPACK_SHIM_H_

#include <stdint.h>

typedef struct TfLiteDelegate TfLiteDelegate;

typedef struct {
  int32_t num_threads;
  uint32_t flags; /* TFLITE_XNNPACK_DELEGATE_FLAG_* */
  void* weights_cache;
} edgecnn_xnnpack_options;

#define EDGECNN_XNNPACK_FLAG_QS8 0x1
#define EDGECNN_XNNPACK_FLAG_QU8 0x2

TfLiteDelegate* TfLiteXNNPackDelegateCreate(const edgecnn_xnnpack_options* options);
void TfLiteXNNPackDelegateDelete(TfLiteDelegate* delegate);

#endif
