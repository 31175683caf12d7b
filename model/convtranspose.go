package model

func init() {
	register("ConvTranspose", newConvTranspose)
}

// convTransposeKernel computes the ONNX ConvTranspose, the transpose
// (input-gradient) of Conv:
//
//	Y[n, m, i...] = B[m] + Σ over x positions o, channels c of group(m) and taps t
//	                with i = o*stride - pad + t*dilation of X[n, c, o...] * W[c, m - m0(c), t...]
//
// with X [N, C, in...], W [C, M/group, kernel...], optional B [M]. Per image
// and group it is col2im(W_gᵀ·X_g). The output size per axis is
//
//	stride*(in-1) + output_padding + (kernel-1)*dilation + 1 - pad_begin - pad_end
//
// unless output_shape (or auto_pad SAME_*, which asks for in*stride) fixes it
// and the pads are derived from it.
type convTransposeKernel struct {
	n *nodeInfo
	convAttrs
	outputPadding []int
	outputShape   []int
}

func newConvTranspose(n *nodeInfo) (kernel, error) {
	a, err := parseConvAttrs(n)
	if err != nil {
		return nil, err
	}
	k := &convTransposeKernel{n: n, convAttrs: a,
		outputPadding: n.Attrs.Ints("output_padding", nil),
		outputShape:   n.Attrs.Ints("output_shape", nil),
	}
	for _, p := range k.outputPadding {
		if p < 0 {
			return nil, n.errorf("output_padding must be >= 0, got %v", k.outputPadding)
		}
	}
	for _, p := range k.outputShape {
		if p < 1 {
			return nil, n.errorf("output_shape must be positive, got %v", k.outputShape)
		}
	}
	return k, nil
}

// floorDiv2 is ⌊v/2⌋ (also for negative v, where Go's / truncates).
func floorDiv2(v int) int { return v >> 1 }

// shape validates the inputs and returns the geometry with the convention
// of Conv's backward pass: the window's image is Y, its grid is X, so
// g.c/g.m are the output/input channel counts of the Conv being transposed
// (g.c = M, g.m = C).
func (k *convTransposeKernel) shape(in []*Tensor) (convShape, error) {
	var g convShape
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		return g, k.n.errorf("needs inputs X and W")
	}
	x, w := in[0], in[1]
	if x.DType != Float32 || w.DType != Float32 {
		return g, k.n.errorf("X and W must be float32, got %v and %v", x.DType, w.DType)
	}
	r, ks, stride, dil, pb, pe, err := k.spatial(k.n, x, w)
	if err != nil {
		return g, err
	}
	if x.Shape[1] != w.Shape[0] || x.Shape[1]%k.group != 0 {
		return g, k.n.errorf("X %v and W %v do not fit group %d (want W.shape[0] = C, divisible by group)", x.Shape, w.Shape, k.group)
	}
	g.batch, g.c, g.m, g.group, g.r = x.Shape[0], w.Shape[1]*k.group, x.Shape[1], k.group, r
	if len(in) > 2 && in[2] != nil {
		if b := in[2]; b.DType != Float32 || b.Rank() != 1 || b.Shape[0] != g.c {
			return g, k.n.errorf("bias B must be float32 [%d], got %v", g.c, b)
		}
	}
	if k.outputPadding != nil && len(k.outputPadding) != r {
		return g, k.n.errorf("output_padding has %d values, want %d", len(k.outputPadding), r)
	}
	outShape := k.outputShape
	if len(outShape) == r+2 { // some exporters give the full [N, M, spatial...]
		outShape = outShape[2:]
	}
	if outShape != nil && len(outShape) != r {
		return g, k.n.errorf("output_shape %v does not have %d spatial values", k.outputShape, r)
	}
	win := &g.win
	win.k, win.stride, win.dil = ks, stride, dil
	g.outShape = make([]int, 2+r)
	g.outShape[0], g.outShape[1] = g.batch, g.c
	off := maxSpatial - r
	for a := 0; a < maxSpatial; a++ {
		win.img[a], win.grid[a] = 1, 1
	}
	for i := 0; i < r; i++ {
		a := off + i
		size := x.Shape[2+i]
		op := 0
		if k.outputPadding != nil {
			op = k.outputPadding[i]
		}
		full := stride[a]*(size-1) + op + (ks[a]-1)*dil[a] + 1 // output size with no padding
		out := full - pb[a] - pe[a]
		want := -1
		if outShape != nil {
			want = outShape[i]
		} else if k.autoPad == "SAME_UPPER" || k.autoPad == "SAME_LOWER" {
			want = size * stride[a]
		}
		if want >= 0 {
			// Pads derived from the requested size (negative when it
			// exceeds the natural size: the extra rows get only the bias).
			total := full - want
			if k.autoPad == "SAME_UPPER" {
				pb[a] = floorDiv2(total)
			} else {
				pb[a] = total - floorDiv2(total)
			}
			out = want
		}
		if out < 1 {
			return g, k.n.errorf("output would be empty along spatial axis %d (input %v, pads %v)", i, x.Shape, k.pads)
		}
		win.img[a], win.grid[a], win.pad[a] = out, size, pb[a]
		g.outShape[2+i] = out
	}
	return g, nil
}

func (k *convTransposeKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	g, err := k.shape(in)
	if err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	win := &g.win
	imgSize, gridSize, kSize := win.imgSize(), win.gridSize(), win.kSize()
	// In window terms: Y has g.c channels of imgSize, X has g.m of gridSize.
	yc, xc := g.c/g.group, g.m/g.group
	y := s.Tensor(g.outShape...)
	var col []float32
	if !win.identity() {
		col = s.FloatsNoZero(yc * kSize * gridSize)
	}
	for n := 0; n < g.batch; n++ {
		for grp := 0; grp < g.group; grp++ {
			xg := x.Data[(n*g.m+grp*xc)*gridSize : (n*g.m+(grp+1)*xc)*gridSize]
			wg := w.Data[grp*xc*yc*kSize : (grp+1)*xc*yc*kSize]
			yg := y.Data[(n*g.c+grp*yc)*imgSize : (n*g.c+(grp+1)*yc)*imgSize]
			if col == nil {
				sgemm(true, false, yc, gridSize, xc, 1, wg, yc, xg, gridSize, 0, yg, gridSize)
				continue
			}
			sgemm(true, false, yc*kSize, gridSize, xc, 1, wg, yc*kSize, xg, gridSize, 0, col, gridSize)
			col2im(win, col, yc, yg)
		}
	}
	if len(in) > 2 && in[2] != nil {
		addChannels(y.Data, in[2].Data, g.batch, imgSize)
	}
	return []*Tensor{y}, nil
}

// addChannels adds each channel's bias to its planes of y ([batch,
// len(bias), size]).
func addChannels(y, bias []float32, batch, size int) {
	planes := batch * len(bias)
	splitWork(planes, planes*size, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			v := bias[p%len(bias)]
			row := y[p*size : (p+1)*size]
			for i := range row {
				row[i] += v
			}
		}
	})
}

// backward returns dX = W_g·im2col(dY) per image and group (a Conv of dY by
// W) and, when asked, dW = Σ_n X_g·im2col(dY)ᵀ and dB = Σ dY over batch
// and space.
func (k *convTransposeKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	g, err := k.shape(in)
	if err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	grads := make([]*Tensor, len(in))
	needW := len(need) > 1 && need[1]
	needB := len(need) > 2 && need[2] && len(in) > 2 && in[2] != nil
	if need[0] {
		grads[0] = s.Tensor(x.Shape...)
	}
	if needW {
		grads[1] = s.Tensor(w.Shape...)
	}
	if needB {
		grads[2] = s.Tensor(in[2].Shape...)
	}
	if len(gout) == 0 || gout[0] == nil {
		return grads, nil
	}
	gy := gout[0].Data
	win := &g.win
	imgSize, gridSize, kSize := win.imgSize(), win.gridSize(), win.kSize()
	yc, xc := g.c/g.group, g.m/g.group
	if needB {
		channelSums(gy, g.batch, imgSize, grads[2].Data)
	}
	if !need[0] && !needW {
		return grads, nil
	}
	var col []float32
	if !win.identity() {
		col = s.FloatsNoZero(yc * kSize * gridSize)
	}
	for n := 0; n < g.batch; n++ {
		for grp := 0; grp < g.group; grp++ {
			xo := (n*g.m + grp*xc) * gridSize
			wg := w.Data[grp*xc*yc*kSize : (grp+1)*xc*yc*kSize]
			cols := gy[(n*g.c+grp*yc)*imgSize : (n*g.c+(grp+1)*yc)*imgSize]
			if col != nil {
				im2col(win, cols, yc, col)
				cols = col
			}
			if need[0] {
				sgemm(false, false, xc, gridSize, yc*kSize, 1, wg, yc*kSize, cols, gridSize, 0, grads[0].Data[xo:xo+xc*gridSize], gridSize)
			}
			if needW {
				gwg := grads[1].Data[grp*xc*yc*kSize : (grp+1)*xc*yc*kSize]
				sgemm(false, true, xc, yc*kSize, gridSize, 1, x.Data[xo:xo+xc*gridSize], gridSize, cols, gridSize, 1, gwg, yc*kSize)
			}
		}
	}
	return grads, nil
}
