package sgemm

import "fmt"

// NewPackedB allocates a PackedB for a k×n op(B) without packing it: fill
// it with Repack (weights that change between products, as in training).
func NewPackedB(n, k int) *PackedB {
	if n < 1 || k < 1 {
		panic(fmt.Sprintf("sgemm: NewPackedB: n=%d k=%d must be positive", n, k))
	}
	kstep := KSlice(k)
	np := (n + nr - 1) / nr
	pb := &PackedB{n: n, k: k, kstep: kstep, np: np, p: make([]float32, np*nr*k)}
	o := 0
	for pc := 0; pc < k; pc += kstep {
		pb.off = append(pb.off, o)
		o += np * nr * min(kstep, k-pc)
	}
	return pb
}

// Panels is the number of 16-column panels of the packed matrix.
func (p *PackedB) Panels() int { return p.np }

// Repack packs panels [p0, p1) (16 columns each) of op(B) (k×n as p was
// made; B is n×k when transB) into p, exactly as PackB packs them:
// goroutines may pack disjoint panel ranges of one PackedB at the same
// time. It allocates nothing.
func (p *PackedB) Repack(transB bool, b []float32, ldb int, p0, p1 int) {
	if p0 < 0 || p1 > p.np || p0 > p1 {
		panic(fmt.Sprintf("sgemm: Repack: panels [%d,%d) of %d", p0, p1, p.np))
	}
	br, bc := p.k, p.n
	if transB {
		br, bc = p.n, p.k
	}
	checkMat("B", b, br, bc, ldb)
	if p0 == p1 {
		return
	}
	g := args{transB: transB, n: p.n, k: p.k, b: b, ldb: ldb, asm: hasAsm}
	j0, j1 := p0*nr, min(p.n, p1*nr)
	for s, pc := 0, 0; pc < p.k; s, pc = s+1, pc+p.kstep {
		kcb := min(p.kstep, p.k-pc)
		o := p.off[s]
		packB(&g, p.p[o+p0*nr*kcb:o+p1*nr*kcb], pc, kcb, j0, j1-j0)
	}
}
