// Package sgemm is edgecnn's float32 matrix multiply, used by the trainer
// and the float runtime paths.
//
// PLACEHOLDER: naive implementation; the packed SIMD version replaces it
// behind the same API.
package sgemm

// Context holds the packing buffers and worker count of one GEMM user.
// A Context is not safe for concurrent use; give each goroutine its own.
type Context struct {
	threads int
}

// New returns a Context that uses up to threads goroutines (≤0: 1).
func New(threads int) *Context {
	if threads < 1 {
		threads = 1
	}
	return &Context{threads: threads}
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices:
// op(A) is m×k (A is k×m when transA), op(B) is k×n (B is n×k when transB),
// C is m×n; lda, ldb, ldc are row strides. beta == 0 overwrites C (NaNs in C
// are not propagated).
func (c *Context) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cm []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				cm[i*ldc+j] = alpha * s
			} else {
				cm[i*ldc+j] = alpha*s + beta*cm[i*ldc+j]
			}
		}
	}
}
