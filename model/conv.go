package model

// Conv: ONNX convolution (opsets 1 and 11) in 1, 2 or 3 spatial dimensions,
// computed as im2col + SGEMM per image and group, with a direct kernel for
// depthwise convolutions. The sliding-window geometry (window, im2col,
// col2im) is shared with ConvTranspose, whose forward pass is the transpose
// of this one.

func init() {
	register("Conv", newConv)
}

// maxSpatial is the largest number of spatial axes the convolutions take.
// Shorter geometries are padded in front with unit axes, so every loop below
// runs over exactly three spatial axes (depth, height, width).
const maxSpatial = 3

// window is the sliding-window geometry between an image (the larger side:
// Conv's input, ConvTranspose's output) and the grid of window positions
// (Conv's output, ConvTranspose's input). Along each axis, window position
// o with kernel tap t reads image index
//
//	i = o*stride - pad + t*dilation
//
// and taps with i outside [0, img) read zero padding. Axes are stored
// depth, height, width; unused leading axes have size 1, stride 1, pad 0.
type window struct {
	img, grid, k, stride, dil, pad [maxSpatial]int
}

func (w *window) imgSize() int  { return w.img[0] * w.img[1] * w.img[2] }
func (w *window) gridSize() int { return w.grid[0] * w.grid[1] * w.grid[2] }
func (w *window) kSize() int    { return w.k[0] * w.k[1] * w.k[2] }

// identity reports whether the window maps the grid one-to-one onto the
// image (1x1 kernel, stride 1, no padding, same size), so that im2col would
// be a plain copy.
func (w *window) identity() bool {
	for a := 0; a < maxSpatial; a++ {
		if w.k[a] != 1 || w.stride[a] != 1 || w.pad[a] != 0 || w.img[a] != w.grid[a] {
			return false
		}
	}
	return true
}

// tapRange returns the window positions [lo, hi) along an axis of grid
// positions whose image index o*stride + off lies in [0, img).
func tapRange(grid, stride, off, img int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if img-off > 0 {
		hi = min(grid, (img-off+stride-1)/stride)
	}
	return min(lo, hi), hi
}

// im2col unrolls channels image planes (each imgSize long) into the column
// matrix col of shape [channels*kSize, gridSize]: row (c, tap) holds, for
// every window position, the image value that tap reads (0 in padding).
func im2col(w *window, img []float32, channels int, col []float32) {
	kSize, gridSize, imgSize := w.kSize(), w.gridSize(), w.imgSize()
	rows := channels * kSize
	splitWork(rows, rows*gridSize, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c, tap := r/kSize, r%kSize
			kd, kh, kw := tap/(w.k[1]*w.k[2]), tap/w.k[2]%w.k[1], tap%w.k[2]
			dst := col[r*gridSize : (r+1)*gridSize]
			src := img[c*imgSize : (c+1)*imgSize]
			offW := kw*w.dil[2] - w.pad[2]
			lo2, hi2 := tapRange(w.grid[2], w.stride[2], offW, w.img[2])
			sw := w.stride[2]
			i := 0
			for od := 0; od < w.grid[0]; od++ {
				id := od*w.stride[0] - w.pad[0] + kd*w.dil[0]
				for oh := 0; oh < w.grid[1]; oh++ {
					ih := oh*w.stride[1] - w.pad[1] + kh*w.dil[1]
					row := dst[i : i+w.grid[2]]
					i += w.grid[2]
					if id < 0 || id >= w.img[0] || ih < 0 || ih >= w.img[1] {
						clear(row)
						continue
					}
					srow := src[(id*w.img[1]+ih)*w.img[2] : (id*w.img[1]+ih+1)*w.img[2]]
					clear(row[:lo2])
					clear(row[hi2:])
					if sw == 1 {
						copy(row[lo2:hi2], srow[lo2+offW:hi2+offW])
					} else {
						for ow := lo2; ow < hi2; ow++ {
							row[ow] = srow[ow*sw+offW]
						}
					}
				}
			}
		}
	})
}

// col2im is the transpose of im2col: it adds every entry of the column
// matrix col [channels*kSize, gridSize] into the image position it was read
// from (entries that fall in the padding are dropped). img must be zeroed
// (or hold values to accumulate onto).
func col2im(w *window, col []float32, channels int, img []float32) {
	kSize, gridSize, imgSize := w.kSize(), w.gridSize(), w.imgSize()
	sw := w.stride[2]
	splitWork(channels, channels*kSize*gridSize, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			dst := img[c*imgSize : (c+1)*imgSize]
			for tap := 0; tap < kSize; tap++ {
				kd, kh, kw := tap/(w.k[1]*w.k[2]), tap/w.k[2]%w.k[1], tap%w.k[2]
				src := col[(c*kSize+tap)*gridSize : (c*kSize+tap+1)*gridSize]
				offW := kw*w.dil[2] - w.pad[2]
				lo2, hi2 := tapRange(w.grid[2], sw, offW, w.img[2])
				i := 0
				for od := 0; od < w.grid[0]; od++ {
					id := od*w.stride[0] - w.pad[0] + kd*w.dil[0]
					for oh := 0; oh < w.grid[1]; oh++ {
						ih := oh*w.stride[1] - w.pad[1] + kh*w.dil[1]
						row := src[i : i+w.grid[2]]
						i += w.grid[2]
						if id < 0 || id >= w.img[0] || ih < 0 || ih >= w.img[1] {
							continue
						}
						drow := dst[(id*w.img[1]+ih)*w.img[2] : (id*w.img[1]+ih+1)*w.img[2]]
						if sw == 1 {
							saxpy(1, row[lo2:hi2], drow[lo2+offW:hi2+offW])
						} else {
							for ow := lo2; ow < hi2; ow++ {
								drow[ow*sw+offW] += row[ow]
							}
						}
					}
				}
			}
		}
	})
}

// convAttrs are the attributes Conv and ConvTranspose share. Nil slices mean
// "absent": their defaults depend on the input's rank.
type convAttrs struct {
	autoPad     string
	group       int
	kernelShape []int
	strides     []int
	dilations   []int
	pads        []int
}

// parseConvAttrs reads and validates the shared convolution attributes.
func parseConvAttrs(n *nodeInfo) (convAttrs, error) {
	a := convAttrs{
		autoPad:     n.Attrs.String("auto_pad", "NOTSET"),
		group:       n.Attrs.Int("group", 1),
		kernelShape: n.Attrs.Ints("kernel_shape", nil),
		strides:     n.Attrs.Ints("strides", nil),
		dilations:   n.Attrs.Ints("dilations", nil),
		pads:        n.Attrs.Ints("pads", nil),
	}
	switch a.autoPad {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return a, n.errorf("unsupported auto_pad %q (want NOTSET, VALID, SAME_UPPER or SAME_LOWER)", a.autoPad)
	}
	if a.group < 1 {
		return a, n.errorf("group must be >= 1, got %d", a.group)
	}
	for _, p := range []struct {
		name string
		v    []int
		min  int
	}{{"kernel_shape", a.kernelShape, 1}, {"strides", a.strides, 1}, {"dilations", a.dilations, 1}, {"pads", a.pads, 0}} {
		for _, x := range p.v {
			if x < p.min {
				return a, n.errorf("%s must be >= %d, got %v", p.name, p.min, p.v)
			}
		}
	}
	if a.pads != nil && len(a.pads)%2 != 0 {
		return a, n.errorf("pads must have 2 values per spatial axis, got %v", a.pads)
	}
	return a, nil
}

// spatial checks x and w (both rank r+2, 1 <= r <= 3) against the
// attributes and returns r and the window's kernel, strides, dilations and
// explicit begin/end pads, right-aligned in maxSpatial-long arrays (leading
// unused axes are 1, 1, 1, 0, 0).
func (a *convAttrs) spatial(n *nodeInfo, x, w *Tensor) (r int, k, stride, dil, padBegin, padEnd [maxSpatial]int, err error) {
	r = x.Rank() - 2
	if r < 1 || r > maxSpatial {
		err = n.errorf("input X must have 1 to 3 spatial axes (rank 3 to 5), got shape %v", x.Shape)
		return
	}
	if w.Rank() != x.Rank() {
		err = n.errorf("weight W has shape %v; want rank %d like X %v", w.Shape, x.Rank(), x.Shape)
		return
	}
	check := func(name string, v []int, want int) bool {
		if v != nil && len(v) != want {
			err = n.errorf("%s has %d values, want %d for %d spatial axes", name, len(v), want, r)
			return false
		}
		return true
	}
	if !check("kernel_shape", a.kernelShape, r) || !check("strides", a.strides, r) ||
		!check("dilations", a.dilations, r) || !check("pads", a.pads, 2*r) {
		return
	}
	off := maxSpatial - r
	for i := 0; i < maxSpatial; i++ {
		k[i], stride[i], dil[i] = 1, 1, 1
	}
	for i := 0; i < r; i++ {
		k[off+i] = w.Shape[2+i]
		if a.kernelShape != nil && a.kernelShape[i] != k[off+i] {
			err = n.errorf("kernel_shape %v does not match weight shape %v", a.kernelShape, w.Shape)
			return
		}
		if k[off+i] < 1 {
			err = n.errorf("weight W has an empty kernel: shape %v", w.Shape)
			return
		}
		if a.strides != nil {
			stride[off+i] = a.strides[i]
		}
		if a.dilations != nil {
			dil[off+i] = a.dilations[i]
		}
		if a.pads != nil && a.autoPad == "NOTSET" {
			padBegin[off+i], padEnd[off+i] = a.pads[i], a.pads[r+i]
		}
	}
	return
}

// convKernel computes the ONNX Conv
//
//	Y[n, m, o...] = B[m] + Σ_{c in group(m), t...} X[n, c, o*stride - pad + t*dilation] * W[m, c - c0(m), t...]
//
// with X [N, C, spatial...], W [M, C/group, kernel...], optional B [M] and
// zero padding; spatial rank 1 to 3.
type convKernel struct {
	n *nodeInfo
	convAttrs
}

func newConv(n *nodeInfo) (kernel, error) {
	a, err := parseConvAttrs(n)
	if err != nil {
		return nil, err
	}
	return &convKernel{n: n, convAttrs: a}, nil
}

// convShape is one Conv call's geometry.
type convShape struct {
	batch, c, m, group int
	r                  int // spatial rank
	win                window
	outShape           []int // [N, M, out...]
}

// depthwise reports whether each group has a single input channel, where a
// direct kernel beats one tiny GEMM per channel.
func (g *convShape) depthwise() bool { return g.group > 1 && g.c == g.group }

// shape validates the inputs and computes the output geometry.
func (k *convKernel) shape(in []*Tensor) (convShape, error) {
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
	g.batch, g.c, g.m, g.group, g.r = x.Shape[0], x.Shape[1], w.Shape[0], k.group, r
	if g.c != w.Shape[1]*g.group || g.m%g.group != 0 {
		return g, k.n.errorf("X %v and W %v do not fit group %d (want C = W.shape[1]*group and M divisible by group)", x.Shape, w.Shape, g.group)
	}
	if len(in) > 2 && in[2] != nil {
		if b := in[2]; b.DType != Float32 || b.Rank() != 1 || b.Shape[0] != g.m {
			return g, k.n.errorf("bias B must be float32 [%d], got %v", g.m, b)
		}
	}
	win := &g.win
	win.k, win.stride, win.dil = ks, stride, dil
	g.outShape = make([]int, 2+r)
	g.outShape[0], g.outShape[1] = g.batch, g.m
	off := maxSpatial - r
	for a := 0; a < maxSpatial; a++ {
		win.img[a], win.grid[a] = 1, 1
	}
	for i := 0; i < r; i++ {
		a := off + i
		size := x.Shape[2+i]
		ext := (ks[a]-1)*dil[a] + 1 // the dilated kernel's extent
		var out int
		switch k.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			out = (size + stride[a] - 1) / stride[a]
			total := max(0, (out-1)*stride[a]+ext-size)
			pb[a] = total / 2
			if k.autoPad == "SAME_LOWER" {
				pb[a] = total - total/2
			}
		default: // NOTSET uses the explicit pads, VALID none
			out = (size+pb[a]+pe[a]-ext)/stride[a] + 1
			if size+pb[a]+pe[a] < ext {
				out = 0
			}
		}
		if out < 1 {
			return g, k.n.errorf("kernel %v (dilations %v) does not fit input %v with the padding", w.Shape[2:], k.dilations, x.Shape)
		}
		win.img[a], win.grid[a], win.pad[a] = size, out, pb[a]
		g.outShape[2+i] = out
	}
	return g, nil
}

func (k *convKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	g, err := k.shape(in)
	if err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	var bias []float32
	if len(in) > 2 && in[2] != nil {
		bias = in[2].Data
	}
	y := s.TensorNoZero(g.outShape...)
	win := &g.win
	imgSize, gridSize, kSize := win.imgSize(), win.gridSize(), win.kSize()
	cg, mg := g.c/g.group, g.m/g.group
	if g.depthwise() {
		for n := 0; n < g.batch; n++ {
			depthwiseForward(win, x.Data[n*g.c*imgSize:(n+1)*g.c*imgSize], w.Data, bias, mg, g.m, y.Data[n*g.m*gridSize:(n+1)*g.m*gridSize])
		}
		return []*Tensor{y}, nil
	}
	beta := float32(0)
	if bias != nil {
		fillChannels(y.Data, bias, g.batch, gridSize)
		beta = 1
	}
	var col []float32
	if !win.identity() {
		col = s.FloatsNoZero(cg * kSize * gridSize)
	}
	for n := 0; n < g.batch; n++ {
		for grp := 0; grp < g.group; grp++ {
			xg := x.Data[(n*g.c+grp*cg)*imgSize : (n*g.c+(grp+1)*cg)*imgSize]
			wg := w.Data[grp*mg*cg*kSize : (grp+1)*mg*cg*kSize]
			yg := y.Data[(n*g.m+grp*mg)*gridSize : (n*g.m+(grp+1)*mg)*gridSize]
			b := xg
			if col != nil {
				im2col(win, xg, cg, col)
				b = col
			}
			sgemm(false, false, mg, gridSize, cg*kSize, 1, wg, cg*kSize, b, gridSize, beta, yg, gridSize)
		}
	}
	return []*Tensor{y}, nil
}

// fillChannels sets every plane of y ([batch, len(bias), size]) to its
// channel's bias value.
func fillChannels(y, bias []float32, batch, size int) {
	planes := batch * len(bias)
	splitWork(planes, planes*size, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			v := bias[p%len(bias)]
			row := y[p*size : (p+1)*size]
			for i := range row {
				row[i] = v
			}
		}
	})
}

// depthwiseForward computes one image of a convolution whose groups have a
// single input channel each (channel c feeds the mg output channels
// c*mg ... c*mg+mg-1) directly, output channel by output channel:
// y[m] = bias[m] + Σ_tap w[m, tap] * shifted x[c]. x is [C, img...], y is
// [m, grid...], w is [m, 1, kernel...].
func depthwiseForward(win *window, x, w, bias []float32, mg, m int, y []float32) {
	imgSize, gridSize, kSize := win.imgSize(), win.gridSize(), win.kSize()
	sw := win.stride[2]
	splitWork(m, m*gridSize*kSize, func(lo, hi int) {
		for oc := lo; oc < hi; oc++ {
			src := x[(oc/mg)*imgSize : (oc/mg+1)*imgSize]
			dst := y[oc*gridSize : (oc+1)*gridSize]
			var b float32
			if bias != nil {
				b = bias[oc]
			}
			for i := range dst {
				dst[i] = b
			}
			for tap := 0; tap < kSize; tap++ {
				wv := w[oc*kSize+tap]
				kd, kh, kw := tap/(win.k[1]*win.k[2]), tap/win.k[2]%win.k[1], tap%win.k[2]
				offW := kw*win.dil[2] - win.pad[2]
				lo2, hi2 := tapRange(win.grid[2], sw, offW, win.img[2])
				for od := 0; od < win.grid[0]; od++ {
					id := od*win.stride[0] - win.pad[0] + kd*win.dil[0]
					if id < 0 || id >= win.img[0] {
						continue
					}
					for oh := 0; oh < win.grid[1]; oh++ {
						ih := oh*win.stride[1] - win.pad[1] + kh*win.dil[1]
						if ih < 0 || ih >= win.img[1] {
							continue
						}
						srow := src[(id*win.img[1]+ih)*win.img[2] : (id*win.img[1]+ih+1)*win.img[2]]
						drow := dst[(od*win.grid[1]+oh)*win.grid[2] : (od*win.grid[1]+oh+1)*win.grid[2]]
						if sw == 1 {
							saxpy(wv, srow[lo2+offW:hi2+offW], drow[lo2:hi2])
						} else {
							for ow := lo2; ow < hi2; ow++ {
								drow[ow] += wv * srow[ow*sw+offW]
							}
						}
					}
				}
			}
		}
	})
}

// depthwiseBackward is depthwiseForward's transpose for one image: for each
// input channel c it accumulates into gx[c] (zeroed by the caller) the
// contributions of its mg output channels' gradients gy.
func depthwiseBackward(win *window, gy, w []float32, mg, c int, gx []float32) {
	imgSize, gridSize, kSize := win.imgSize(), win.gridSize(), win.kSize()
	sw := win.stride[2]
	splitWork(c, c*mg*gridSize*kSize, func(lo, hi int) {
		for ic := lo; ic < hi; ic++ {
			dst := gx[ic*imgSize : (ic+1)*imgSize]
			for oc := ic * mg; oc < (ic+1)*mg; oc++ {
				src := gy[oc*gridSize : (oc+1)*gridSize]
				for tap := 0; tap < kSize; tap++ {
					wv := w[oc*kSize+tap]
					kd, kh, kw := tap/(win.k[1]*win.k[2]), tap/win.k[2]%win.k[1], tap%win.k[2]
					offW := kw*win.dil[2] - win.pad[2]
					lo2, hi2 := tapRange(win.grid[2], sw, offW, win.img[2])
					for od := 0; od < win.grid[0]; od++ {
						id := od*win.stride[0] - win.pad[0] + kd*win.dil[0]
						if id < 0 || id >= win.img[0] {
							continue
						}
						for oh := 0; oh < win.grid[1]; oh++ {
							ih := oh*win.stride[1] - win.pad[1] + kh*win.dil[1]
							if ih < 0 || ih >= win.img[1] {
								continue
							}
							grow := src[(od*win.grid[1]+oh)*win.grid[2] : (od*win.grid[1]+oh+1)*win.grid[2]]
							xrow := dst[(id*win.img[1]+ih)*win.img[2] : (id*win.img[1]+ih+1)*win.img[2]]
							if sw == 1 {
								saxpy(wv, grow[lo2:hi2], xrow[lo2+offW:hi2+offW])
							} else {
								for ow := lo2; ow < hi2; ow++ {
									xrow[ow*sw+offW] += wv * grow[ow]
								}
							}
						}
					}
				}
			}
		}
	})
}

// depthwiseWeightGrad accumulates into gw ([m, 1, kernel...]) the weight
// gradient of one image of a depthwise convolution: gw[m, tap] +=
// Σ_o gy[m, o] * x[c(m), o*stride - pad + tap*dilation].
func depthwiseWeightGrad(win *window, x, gy []float32, mg, m int, gw []float32) {
	imgSize, gridSize, kSize := win.imgSize(), win.gridSize(), win.kSize()
	sw := win.stride[2]
	splitWork(m, m*gridSize*kSize, func(lo, hi int) {
		for oc := lo; oc < hi; oc++ {
			src := x[(oc/mg)*imgSize : (oc/mg+1)*imgSize]
			g := gy[oc*gridSize : (oc+1)*gridSize]
			for tap := 0; tap < kSize; tap++ {
				kd, kh, kw := tap/(win.k[1]*win.k[2]), tap/win.k[2]%win.k[1], tap%win.k[2]
				offW := kw*win.dil[2] - win.pad[2]
				lo2, hi2 := tapRange(win.grid[2], sw, offW, win.img[2])
				var sum float32
				for od := 0; od < win.grid[0]; od++ {
					id := od*win.stride[0] - win.pad[0] + kd*win.dil[0]
					if id < 0 || id >= win.img[0] {
						continue
					}
					for oh := 0; oh < win.grid[1]; oh++ {
						ih := oh*win.stride[1] - win.pad[1] + kh*win.dil[1]
						if ih < 0 || ih >= win.img[1] {
							continue
						}
						srow := src[(id*win.img[1]+ih)*win.img[2] : (id*win.img[1]+ih+1)*win.img[2]]
						grow := g[(od*win.grid[1]+oh)*win.grid[2] : (od*win.grid[1]+oh+1)*win.grid[2]]
						if sw == 1 {
							sum += sdot(srow[lo2+offW:hi2+offW], grow[lo2:hi2])
							continue
						}
						for ow := lo2; ow < hi2; ow++ {
							sum += grow[ow] * srow[ow*sw+offW]
						}
					}
				}
				gw[oc*kSize+tap] += sum
			}
		}
	})
}

// channelSums accumulates into gb[ch] the sum of every plane of gy ([batch,
// len(gb), size]): the gradient of a per-channel bias.
func channelSums(gy []float32, batch, size int, gb []float32) {
	for p := 0; p < batch*len(gb); p++ {
		var sum float32
		for _, v := range gy[p*size : (p+1)*size] {
			sum += v
		}
		gb[p%len(gb)] += sum
	}
}

// backward returns dX = col2im(Wᵀ·dY) per image and group and, when asked,
// dW = Σ_n dY·im2col(X)ᵀ and dB = Σ dY over batch and space.
func (k *convKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
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
		return grads, nil // no gradient reaches Y: all zero
	}
	gy := gout[0].Data
	win := &g.win
	imgSize, gridSize, kSize := win.imgSize(), win.gridSize(), win.kSize()
	cg, mg := g.c/g.group, g.m/g.group
	if needB {
		channelSums(gy, g.batch, gridSize, grads[2].Data)
	}
	if g.depthwise() {
		for n := 0; n < g.batch; n++ {
			gyn := gy[n*g.m*gridSize : (n+1)*g.m*gridSize]
			if need[0] {
				depthwiseBackward(win, gyn, w.Data, mg, g.c, grads[0].Data[n*g.c*imgSize:(n+1)*g.c*imgSize])
			}
			if needW {
				depthwiseWeightGrad(win, x.Data[n*g.c*imgSize:(n+1)*g.c*imgSize], gyn, mg, g.m, grads[1].Data)
			}
		}
		return grads, nil
	}
	var col []float32
	if !win.identity() && (need[0] || needW) {
		col = s.FloatsNoZero(cg * kSize * gridSize)
	}
	for n := 0; n < g.batch; n++ {
		for grp := 0; grp < g.group; grp++ {
			xo := (n*g.c + grp*cg) * imgSize
			wg := w.Data[grp*mg*cg*kSize : (grp+1)*mg*cg*kSize]
			gyg := gy[(n*g.m+grp*mg)*gridSize : (n*g.m+(grp+1)*mg)*gridSize]
			if need[0] {
				gxg := grads[0].Data[xo : xo+cg*imgSize]
				if col == nil {
					sgemm(true, false, cg, gridSize, mg, 1, wg, cg, gyg, gridSize, 0, gxg, gridSize)
				} else {
					sgemm(true, false, cg*kSize, gridSize, mg, 1, wg, cg*kSize, gyg, gridSize, 0, col, gridSize)
					col2im(win, col, cg, gxg)
				}
			}
			if needW {
				cols := x.Data[xo : xo+cg*imgSize]
				if col != nil {
					im2col(win, cols, cg, col)
					cols = col
				}
				gwg := grads[1].Data[grp*mg*cg*kSize : (grp+1)*mg*cg*kSize]
				sgemm(false, true, mg, cg*kSize, gridSize, 1, gyg, gridSize, cols, gridSize, 1, gwg, cg*kSize)
			}
		}
	}
	return grads, nil
}
