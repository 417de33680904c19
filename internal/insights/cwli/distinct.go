package cwli

import "math"

// distinctAgg is count_distinct: exact while it has seen at most
// distinctExact values, then a HyperLogLog sketch of 2^hllBits one-byte
// registers (about 1.6% standard error), so memory stays bounded however
// many distinct values a group has. AWS documents the function as
// approximate.
type distinctAgg struct {
	exact map[uint64]struct{}
	regs  []uint8
}

const (
	distinctExact = 1024
	hllBits       = 12
	hllM          = 1 << hllBits
)

func newDistinct() *distinctAgg { return &distinctAgg{exact: map[uint64]struct{}{}} }

func (d *distinctAgg) add(a []Value, _ *row) int64 {
	v := a[0]
	if v.k == kNull {
		return 0
	}
	s, ok := v.text()
	if !ok {
		s = v.render()
	}
	h := hash64(s)
	if d.regs == nil {
		if _, dup := d.exact[h]; dup {
			return 0
		}
		d.exact[h] = struct{}{}
		if len(d.exact) <= distinctExact {
			return 16
		}
		d.toSketch()
		return hllM - 16*distinctExact
	}
	d.insert(h)
	return 0
}

// merge gives the same state as adding o's values here: the exact set's
// union while it stays small, else the registers' maximum (HyperLogLog
// registers do not depend on insertion order).
func (d *distinctAgg) merge(o aggState) {
	x := o.(*distinctAgg)
	if d.regs == nil && x.regs == nil {
		for h := range x.exact {
			d.exact[h] = struct{}{}
		}
		if len(d.exact) <= distinctExact {
			return
		}
	}
	d.toSketch()
	if x.regs == nil {
		for h := range x.exact {
			d.insert(h)
		}
		return
	}
	for i, r := range x.regs {
		d.regs[i] = max(d.regs[i], r)
	}
}

func (d *distinctAgg) toSketch() {
	if d.regs != nil {
		return
	}
	d.regs = make([]uint8, hllM)
	for k := range d.exact {
		d.insert(k)
	}
	d.exact = nil
}

func (d *distinctAgg) clone() aggState {
	c := &distinctAgg{}
	if d.regs != nil {
		c.regs = append([]uint8(nil), d.regs...)
		return c
	}
	c.exact = make(map[uint64]struct{}, len(d.exact))
	for h := range d.exact {
		c.exact[h] = struct{}{}
	}
	return c
}

func (d *distinctAgg) insert(h uint64) {
	idx := h >> (64 - hllBits)
	w := h<<hllBits | 1<<(hllBits-1) // guard bit bounds the run
	rho := uint8(1)
	for w&(1<<63) == 0 {
		rho++
		w <<= 1
	}
	if rho > d.regs[idx] {
		d.regs[idx] = rho
	}
}

func (d *distinctAgg) result() Value {
	if d.regs == nil {
		return num(float64(len(d.exact)))
	}
	sum, zeros := 0.0, 0
	for _, r := range d.regs {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	m := float64(hllM)
	est := 0.7213 / (1 + 1.079/m) * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(m/float64(zeros)) // linear counting for small ranges
	}
	return num(math.Round(est))
}

// hash64 is FNV-1a followed by a 64-bit finaliser (splitmix64), so that
// the high bits HyperLogLog indexes by are well mixed. Deterministic: the
// same data gives the same estimate on every run.
func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
