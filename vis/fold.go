package vis

// Elementwise sums and differences of the Fourier image's stages (see
// fourier_dft.go), on AVX2 where the processor has it (kernels_amd64.s).

// sumDiffScale sets s to k·(a + b) and d to k·(a - b), elementwise (len(k)
// values).
func sumDiffScale(s, d, a, b, k []float32) {
	n := len(k)
	s, d, a, b = s[:n], d[:n], a[:n], b[:n]
	j := 0
	if useAVX { // kernels_amd64.s, for all but the last few values
		if j = n &^ 7; j > 0 {
			sumDiffScaleAVX(&s[0], &d[0], &a[0], &b[0], &k[0], j)
		}
	}
	for ; j < n; j++ {
		x, y := a[j], b[j]
		s[j], d[j] = k[j]*(x+y), k[j]*(x-y)
	}
}

// scalePlane sets dst to k·src elementwise.
func scalePlane(dst, src, k []float32) {
	dst, src = dst[:len(k)], src[:len(k)]
	for i, f := range k {
		dst[i] = src[i] * f
	}
}

// sumDiff sets s = a + b and, with both, d = a - b.
func sumDiff(s, d, a, b []float32, both bool) {
	n := len(a)
	s, b = s[:n], b[:n]
	if !both {
		for i, x := range a {
			s[i] = x + b[i]
		}
		return
	}
	d = d[:n]
	i := 0
	if useAVX { // kernels_amd64.s
		if i = n &^ 7; i > 0 {
			sumDiffAVX(&s[0], &d[0], &a[0], &b[0], i)
		}
	}
	for ; i < n; i++ {
		x, y := a[i], b[i]
		s[i], d[i] = x+y, x-y
	}
}

// mirror sets fwd[i] = a[i] + b[i] and back[len(back)-1-i] = a[i] - b[i]
// (len(a) values each).
func mirror(fwd, back, a, b []float32) {
	n := len(a)
	fwd, back, b = fwd[:n], back[:n], b[:n]
	i := 0
	if useAVX { // kernels_amd64.s
		if i = n &^ 7; i > 0 {
			mirrorAVX(&fwd[0], &back[n-1], &a[0], &b[0], i)
		}
	}
	for ; i < n; i++ {
		x, y := a[i], b[i]
		fwd[i], back[n-1-i] = x+y, x-y
	}
}

// foldMirror is mirror transposed: s[i] = a[i] + back[len(back)-1-i] and
// d[i] = a[i] - back[len(back)-1-i].
func foldMirror(s, d, a, back []float32) {
	n := len(a)
	s, d, back = s[:n], d[:n], back[:n]
	i := 0
	if useAVX { // kernels_amd64.s
		if i = n &^ 7; i > 0 {
			foldMirrorAVX(&s[0], &d[0], &a[0], &back[n-1], i)
		}
	}
	for ; i < n; i++ {
		x, y := a[i], back[n-1-i]
		s[i], d[i] = x+y, x-y
	}
}

// unfold sets z (w values) to the row of a cosine part cs (x = 0..w/2) and
// a sine part sn (x = 1..(w-1)/2): z[x] = cs[x] + sn[x-1], z[w-x] =
// cs[x] - sn[x-1].
func unfold(z, cs, sn []float32) {
	w := len(z)
	copy(z[:len(cs)], cs)
	for x := 1; x <= len(sn); x++ {
		a, b := cs[x], sn[x-1]
		z[x], z[w-x] = a+b, a-b
	}
}

// unfoldPair is unfold of rows m (cosine part a1 - b1, sine part a2 - b2)
// and h-m (a1 + b1, a2 + b2) of render, into zm and zp.
func unfoldPair(zm, zp, a1, a2, b1, b2 []float32) {
	w := len(zm)
	xc, xs := len(a1), len(a2)
	zp, a2, b1, b2 = zp[:w], a2[:xs], b1[:xc], b2[:xs]
	zm[0], zp[0] = a1[0]-b1[0], a1[0]+b1[0]
	x0 := 1
	if n := xs &^ 7; useAVX && n > 0 { // kernels_amd64.s
		unfoldPairAVX(&zm[0], &zp[0], &a1[0], &a2[0], &b1[0], &b2[0], n, w)
		x0 += n
	}
	for x := x0; x <= xs; x++ {
		c, s, d, t := a1[x], a2[x-1], b1[x], b2[x-1]
		cm, sm, cp, sp := c-d, s-t, c+d, s+t
		zm[x], zm[w-x] = cm+sm, cm-sm
		zp[x], zp[w-x] = cp+sp, cp-sp
	}
	for x := xs + 1; x < xc; x++ { // the Nyquist column of an even w
		zm[x], zp[x] = a1[x]-b1[x], a1[x]+b1[x]
	}
}

// fold is the adjoint of unfold: cs[x] = g[x] + g[w-x] (g[x] alone for x = 0
// and w/2), sn[x-1] = g[x] - g[w-x].
func fold(cs, sn, g []float32) {
	w := len(g)
	copy(cs, g[:len(cs)])
	for x := 1; x <= len(sn); x++ {
		a, b := g[x], g[w-x]
		cs[x], sn[x-1] = a+b, a-b
	}
}

// foldPair is the adjoint of unfoldPair: the folds of gm + gp into a1, a2
// and of gp - gm into b1, b2.
func foldPair(a1, a2, b1, b2, gm, gp []float32) {
	w := len(gm)
	xc, xs := len(a1), len(a2)
	gp, a2, b1, b2 = gp[:w], a2[:xs], b1[:xc], b2[:xs]
	a1[0], b1[0] = gm[0]+gp[0], gp[0]-gm[0]
	x0 := 1
	if n := xs &^ 7; useAVX && n > 0 { // kernels_amd64.s
		foldPairAVX(&a1[0], &a2[0], &b1[0], &b2[0], &gm[0], &gp[0], n, w)
		x0 += n
	}
	for x := x0; x <= xs; x++ {
		m0, m1, p0, p1 := gm[x], gm[w-x], gp[x], gp[w-x]
		s0, s1, d0, d1 := m0+p0, m1+p1, p0-m0, p1-m1
		a1[x], a2[x-1] = s0+s1, s0-s1
		b1[x], b2[x-1] = d0+d1, d0-d1
	}
	for x := xs + 1; x < xc; x++ {
		a1[x], b1[x] = gm[x]+gp[x], gp[x]-gm[x]
	}
}
