//go:build !purego

#include "textflag.h"

// AVX2 + FMA kernels, eight float32 values at a time. The sigmoid of
// sigmoid.go:
// s = 1/(1+e^t) with t = -y clamped to [-80, 80] (NaN to -80), and
// e^t = 2^n e^r, n = round(t log2 e), r = t - n ln 2 (in two parts), e^r by
// Cephes' expf polynomial (relative error about 1e-7 on |r| <= ln2/2).

DATA sig<>+0x00(SB)/4, $-80.0
DATA sig<>+0x04(SB)/4, $80.0
DATA sig<>+0x08(SB)/4, $1.44269504088896341 // log2 e
DATA sig<>+0x0c(SB)/4, $0.693359375         // ln 2, high part
DATA sig<>+0x10(SB)/4, $-2.12194440e-4      // ln 2, low part
DATA sig<>+0x14(SB)/4, $1.9875691500e-4
DATA sig<>+0x18(SB)/4, $1.3981999507e-3
DATA sig<>+0x1c(SB)/4, $8.3334519073e-3
DATA sig<>+0x20(SB)/4, $4.1665795894e-2
DATA sig<>+0x24(SB)/4, $1.6666665459e-1
DATA sig<>+0x28(SB)/4, $5.0000001201e-1
DATA sig<>+0x2c(SB)/4, $1.0
DATA sig<>+0x30(SB)/4, $127
GLOBL sig<>(SB), RODATA|NOPTR, $52

// SIGMOID replaces Y with the sigmoid of its eight values; it uses
// Y9..Y11 and the constants broadcast in Y12..Y15 (-80, 80, log2 e, 1).
#define SIGMOID(Y) \
	VXORPS Y9, Y9, Y9; \
	VSUBPS Y, Y9, Y9; \
	VMAXPS Y12, Y9, Y9; \
	VMINPS Y13, Y9, Y9; \
	VMULPS Y14, Y9, Y10; \
	VROUNDPS $0, Y10, Y10; \
	VBROADCASTSS sig<>+0x0c(SB), Y11; \
	VFNMADD231PS Y11, Y10, Y9; \
	VBROADCASTSS sig<>+0x10(SB), Y11; \
	VFNMADD231PS Y11, Y10, Y9; \
	VBROADCASTSS sig<>+0x14(SB), Y11; \
	VBROADCASTSS sig<>+0x18(SB), Y; \
	VFMADD213PS Y, Y9, Y11; \
	VBROADCASTSS sig<>+0x1c(SB), Y; \
	VFMADD213PS Y, Y9, Y11; \
	VBROADCASTSS sig<>+0x20(SB), Y; \
	VFMADD213PS Y, Y9, Y11; \
	VBROADCASTSS sig<>+0x24(SB), Y; \
	VFMADD213PS Y, Y9, Y11; \
	VBROADCASTSS sig<>+0x28(SB), Y; \
	VFMADD213PS Y, Y9, Y11; \
	VMULPS Y9, Y9, Y; \
	VFMADD213PS Y9, Y, Y11; \
	VADDPS Y15, Y11, Y11; \
	VCVTPS2DQ Y10, Y10; \
	VPBROADCASTD sig<>+0x30(SB), Y; \
	VPADDD Y, Y10, Y10; \
	VPSLLD $23, Y10, Y10; \
	VMULPS Y10, Y11, Y11; \
	VADDPS Y15, Y11, Y11; \
	VDIVPS Y11, Y15, Y

#define CONSTANTS \
	VBROADCASTSS sig<>+0x00(SB), Y12; \
	VBROADCASTSS sig<>+0x04(SB), Y13; \
	VBROADCASTSS sig<>+0x08(SB), Y14; \
	VBROADCASTSS sig<>+0x2c(SB), Y15

// func sigmoidAVX(dst, src *float32, n int)
// n is a multiple of 8.
TEXT ·sigmoidAVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CONSTANTS
	SHRQ $3, CX
	JZ   done

loop:
	VMOVUPS (SI), Y0
	SIGMOID(Y0)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// func sigmoidMixAVX(dst, src *float32, plane, n int, m *[9]float32)
// For n pixels (a multiple of 8) of three planes spaced plane values apart,
// dst[c] = sigmoid(m[3c]·src[0] + m[3c+1]·src[1] + m[3c+2]·src[2]).
TEXT ·sigmoidMixAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ plane+16(FP), DX
	SHLQ $2, DX
	MOVQ n+24(FP), CX
	MOVQ m+32(FP), AX
	CONSTANTS
	SHRQ $3, CX
	JZ   mixdone

mixloop:
	VMOVUPS (SI), Y3
	VMOVUPS (SI)(DX*1), Y4
	LEAQ    (SI)(DX*2), R8
	VMOVUPS (R8), Y5

	VBROADCASTSS 0(AX), Y0
	VMULPS       Y3, Y0, Y0
	VBROADCASTSS 4(AX), Y6
	VFMADD231PS  Y4, Y6, Y0
	VBROADCASTSS 8(AX), Y6
	VFMADD231PS  Y5, Y6, Y0

	VBROADCASTSS 12(AX), Y1
	VMULPS       Y3, Y1, Y1
	VBROADCASTSS 16(AX), Y6
	VFMADD231PS  Y4, Y6, Y1
	VBROADCASTSS 20(AX), Y6
	VFMADD231PS  Y5, Y6, Y1

	VBROADCASTSS 24(AX), Y2
	VMULPS       Y3, Y2, Y2
	VBROADCASTSS 28(AX), Y6
	VFMADD231PS  Y4, Y6, Y2
	VBROADCASTSS 32(AX), Y6
	VFMADD231PS  Y5, Y6, Y2

	SIGMOID(Y0)
	SIGMOID(Y1)
	SIGMOID(Y2)
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, (DI)(DX*1)
	LEAQ    (DI)(DX*2), R8
	VMOVUPS Y2, (R8)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  mixloop

mixdone:
	VZEROUPPER
	RET

DATA adamc<>+0x00(SB)/4, $0.9
DATA adamc<>+0x04(SB)/4, $0.1
DATA adamc<>+0x08(SB)/4, $0.999
DATA adamc<>+0x0c(SB)/4, $0.001
GLOBL adamc<>(SB), RODATA|NOPTR, $16

// func adamAVX(v, grad, m, s *float32, n int, k, eps float32)
// For n values (a multiple of 8): m = 0.9 m + 0.1 grad, s = 0.999 s +
// 0.001 grad², v += k m / (sqrt(s) + eps).
TEXT ·adamAVX(SB), NOSPLIT, $0-48
	MOVQ v+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ s+24(FP), R9
	MOVQ n+32(FP), CX
	VBROADCASTSS k+40(FP), Y12
	VBROADCASTSS eps+44(FP), Y13
	VBROADCASTSS adamc<>+0x00(SB), Y8
	VBROADCASTSS adamc<>+0x04(SB), Y9
	VBROADCASTSS adamc<>+0x08(SB), Y10
	VBROADCASTSS adamc<>+0x0c(SB), Y11
	SHRQ $3, CX
	JZ   adamdone

adamloop:
	VMOVUPS     (SI), Y0
	VMULPS      (R8), Y8, Y1
	VFMADD231PS Y9, Y0, Y1 // m
	VMULPS      Y0, Y0, Y2
	VMULPS      Y11, Y2, Y2
	VFMADD231PS (R9), Y10, Y2 // s
	VMOVUPS     Y1, (R8)
	VMOVUPS     Y2, (R9)
	VSQRTPS     Y2, Y2
	VADDPS      Y13, Y2, Y2
	VDIVPS      Y2, Y1, Y1
	VMOVUPS     (DI), Y3
	VFMADD231PS Y12, Y1, Y3
	VMOVUPS     Y3, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  adamloop

adamdone:
	VZEROUPPER
	RET

// func warpTapsAVX(s *tapArgs, idx *int32, k0, k1, k2, k3 *float32, n int)
// For n output pixels (a multiple of 4) of a row, all inside the plane:
// the source point sy = (ry - sin·qx) + cy, sx = (rx + cos·qx) + cx with
// qx = (x - cx) - dx, in float64 and in the order warp.point computes it,
// its top-left tap y0·w + x0 (the floors) and the weights of weights().
TEXT ·warpTapsAVX(SB), NOSPLIT, $0-56
	MOVQ s+0(FP), AX
	MOVQ idx+8(FP), DI
	MOVQ k0+16(FP), R8
	MOVQ k1+24(FP), R9
	MOVQ k2+32(FP), R10
	MOVQ k3+40(FP), R11
	MOVQ n+48(FP), CX
	VMOVUPD 288(AX), Y0 // x, x+1, x+2, x+3
	VMOVUPD 256(AX), Y15 // 4
	VMOVUPD 224(AX), Y14 // 1
	VMOVDQU 320(AX), X13 // w
	SHRQ $2, CX
	JZ   tapsdone

tapsloop:
	VSUBPD      160(AX), Y0, Y1 // x - cx
	VSUBPD      192(AX), Y1, Y1 // qx
	VMULPD      64(AX), Y1, Y2 // sin·qx
	VMOVUPD     0(AX), Y3
	VSUBPD      Y2, Y3, Y3 // ry - sin·qx
	VADDPD      128(AX), Y3, Y3 // sy
	VMULPD      96(AX), Y1, Y4 // cos·qx
	VADDPD      32(AX), Y4, Y4 // rx + cos·qx
	VADDPD      160(AX), Y4, Y4 // sx
	VROUNDPD    $1, Y3, Y5
	VROUNDPD    $1, Y4, Y6
	VSUBPD      Y5, Y3, Y3 // fy
	VSUBPD      Y6, Y4, Y4 // fx
	VCVTTPD2DQY Y5, X5
	VCVTTPD2DQY Y6, X6
	VPMULLD     X13, X5, X5
	VPADDD      X6, X5, X5
	VMOVDQU     X5, (DI)
	VSUBPD      Y3, Y14, Y7 // 1 - fy
	VSUBPD      Y4, Y14, Y8 // 1 - fx
	VMULPD      Y8, Y7, Y9
	VCVTPD2PSY  Y9, X9
	VMOVUPS     X9, (R8)
	VMULPD      Y4, Y7, Y9
	VCVTPD2PSY  Y9, X9
	VMOVUPS     X9, (R9)
	VMULPD      Y8, Y3, Y9
	VCVTPD2PSY  Y9, X9
	VMOVUPS     X9, (R10)
	VMULPD      Y4, Y3, Y9
	VCVTPD2PSY  Y9, X9
	VMOVUPS     X9, (R11)
	VADDPD      Y15, Y0, Y0
	ADDQ $16, DI
	ADDQ $16, R8
	ADDQ $16, R9
	ADDQ $16, R10
	ADDQ $16, R11
	DECQ CX
	JNZ  tapsloop

tapsdone:
	VZEROUPPER
	RET

// func warpGatherAVX(d, p *float32, idx *int32, k0, k1, k2, k3 *float32, n, w int, gain, bias float32)
// For n pixels (a multiple of 8): d[j] = gain·(k0·p[i] + k1·p[i+1] +
// k2·p[i+w] + k3·p[i+w+1]) + bias with i = idx[j], summed in that order.
TEXT ·warpGatherAVX(SB), NOSPLIT, $0-80
	MOVQ d+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ idx+16(FP), DX
	MOVQ k0+24(FP), R8
	MOVQ k1+32(FP), R9
	MOVQ k2+40(FP), R10
	MOVQ k3+48(FP), R11
	MOVQ n+56(FP), CX
	MOVQ w+64(FP), R12
	VBROADCASTSS gain+72(FP), Y13
	VBROADCASTSS bias+76(FP), Y12
	LEAQ (SI)(R12*4), R12 // the row below
	SHRQ $3, CX
	JZ   gatherdone

gatherloop:
	VMOVDQU    (DX), Y0
	VPCMPEQD   Y15, Y15, Y15
	VGATHERDPS Y15, (SI)(Y0*4), Y1
	VPCMPEQD   Y15, Y15, Y15
	VGATHERDPS Y15, 4(SI)(Y0*4), Y2
	VPCMPEQD   Y15, Y15, Y15
	VGATHERDPS Y15, (R12)(Y0*4), Y3
	VPCMPEQD   Y15, Y15, Y15
	VGATHERDPS Y15, 4(R12)(Y0*4), Y4
	VMULPS     (R8), Y1, Y1
	VMULPS     (R9), Y2, Y2
	VADDPS     Y2, Y1, Y1
	VMULPS     (R10), Y3, Y3
	VADDPS     Y3, Y1, Y1
	VMULPS     (R11), Y4, Y4
	VADDPS     Y4, Y1, Y1
	VMULPS     Y13, Y1, Y1
	VADDPS     Y12, Y1, Y1
	VMOVUPS    Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ CX
	JNZ  gatherloop

gatherdone:
	VZEROUPPER
	RET

// SCATTERLANE adds the products of lane off/4 (saved on the stack at
// off, 32+off, 64+off, 96+off) into its four taps: p[i], p[i+1] (SI) and
// those of the row below (R12), i the lane's index.
#define SCATTERLANE(off) \
	MOVLQSX off(DX), AX \
	VMOVSS  (SI)(AX*4), X5 \
	VADDSS  off(SP), X5, X5 \
	VMOVSS  X5, (SI)(AX*4) \
	VMOVSS  4(SI)(AX*4), X6 \
	VADDSS  32+off(SP), X6, X6 \
	VMOVSS  X6, 4(SI)(AX*4) \
	VMOVSS  (R12)(AX*4), X7 \
	VADDSS  64+off(SP), X7, X7 \
	VMOVSS  X7, (R12)(AX*4) \
	VMOVSS  4(R12)(AX*4), X8 \
	VADDSS  96+off(SP), X8, X8 \
	VMOVSS  X8, 4(R12)(AX*4)

// func warpScatterAVX(p, grad *float32, idx *int32, k0, k1, k2, k3 *float32, n, w int, gain float32)
// For n pixels (a multiple of 8), in order, with gj = grad[j]·gain and
// i = idx[j]: p[i] += k0·gj, p[i+1] += k1·gj, p[i+w] += k2·gj,
// p[i+w+1] += k3·gj. The products are taken eight pixels at a time, the
// sums one by one (taps of neighbouring pixels coincide).
TEXT ·warpScatterAVX(SB), NOSPLIT, $128-76
	MOVQ p+0(FP), SI
	MOVQ grad+8(FP), BX
	MOVQ idx+16(FP), DX
	MOVQ k0+24(FP), R8
	MOVQ k1+32(FP), R9
	MOVQ k2+40(FP), R10
	MOVQ k3+48(FP), R11
	MOVQ n+56(FP), CX
	MOVQ w+64(FP), R12
	VBROADCASTSS gain+72(FP), Y13
	LEAQ (SI)(R12*4), R12 // the row below
	SHRQ $3, CX
	JZ   scatterdone

scatterloop:
	VMULPS  (BX), Y13, Y0 // gj
	VMULPS  (R8), Y0, Y1
	VMULPS  (R9), Y0, Y2
	VMULPS  (R10), Y0, Y3
	VMULPS  (R11), Y0, Y4
	VMOVUPS Y1, 0(SP)
	VMOVUPS Y2, 32(SP)
	VMOVUPS Y3, 64(SP)
	VMOVUPS Y4, 96(SP)
	SCATTERLANE(0)
	SCATTERLANE(4)
	SCATTERLANE(8)
	SCATTERLANE(12)
	SCATTERLANE(16)
	SCATTERLANE(20)
	SCATTERLANE(24)
	SCATTERLANE(28)
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ CX
	JNZ  scatterloop

scatterdone:
	VZEROUPPER
	RET

// SCATTER3LANE is SCATTERLANE for the three planes (SI, DI, R13), whose
// products lie on the stack at (plane·4 + tap)·32 + off.
#define SCATTER3LANE(off) \
	MOVLQSX off(DX), AX \
	VMOVSS  (SI)(AX*4), X5 \
	VADDSS  0+off(SP), X5, X5 \
	VMOVSS  X5, (SI)(AX*4) \
	VMOVSS  4(SI)(AX*4), X5 \
	VADDSS  32+off(SP), X5, X5 \
	VMOVSS  X5, 4(SI)(AX*4) \
	VMOVSS  (DI)(AX*4), X5 \
	VADDSS  128+off(SP), X5, X5 \
	VMOVSS  X5, (DI)(AX*4) \
	VMOVSS  4(DI)(AX*4), X5 \
	VADDSS  160+off(SP), X5, X5 \
	VMOVSS  X5, 4(DI)(AX*4) \
	VMOVSS  (R13)(AX*4), X5 \
	VADDSS  256+off(SP), X5, X5 \
	VMOVSS  X5, (R13)(AX*4) \
	VMOVSS  4(R13)(AX*4), X5 \
	VADDSS  288+off(SP), X5, X5 \
	VMOVSS  X5, 4(R13)(AX*4) \
	ADDQ    w+64(FP), AX \
	VMOVSS  (SI)(AX*4), X5 \
	VADDSS  64+off(SP), X5, X5 \
	VMOVSS  X5, (SI)(AX*4) \
	VMOVSS  4(SI)(AX*4), X5 \
	VADDSS  96+off(SP), X5, X5 \
	VMOVSS  X5, 4(SI)(AX*4) \
	VMOVSS  (DI)(AX*4), X5 \
	VADDSS  192+off(SP), X5, X5 \
	VMOVSS  X5, (DI)(AX*4) \
	VMOVSS  4(DI)(AX*4), X5 \
	VADDSS  224+off(SP), X5, X5 \
	VMOVSS  X5, 4(DI)(AX*4) \
	VMOVSS  (R13)(AX*4), X5 \
	VADDSS  320+off(SP), X5, X5 \
	VMOVSS  X5, (R13)(AX*4) \
	VMOVSS  4(R13)(AX*4), X5 \
	VADDSS  352+off(SP), X5, X5 \
	VMOVSS  X5, 4(R13)(AX*4)

// PLANEPRODUCTS saves on the stack at at, 32+at, 64+at and 96+at the
// products of eight pixels' weights k0..k3 (R8..R11) with their gj, grad
// times gain.
#define PLANEPRODUCTS(grad, gain, at) \
	VMULPS  grad, gain, Y0 \
	VMULPS  (R8), Y0, Y1 \
	VMOVUPS Y1, at(SP) \
	VMULPS  (R9), Y0, Y1 \
	VMOVUPS Y1, 32+at(SP) \
	VMULPS  (R10), Y0, Y1 \
	VMOVUPS Y1, 64+at(SP) \
	VMULPS  (R11), Y0, Y1 \
	VMOVUPS Y1, 96+at(SP)

// func warpScatter3AVX(p, grad *float32, idx *int32, k0, k1, k2, k3 *float32, n, w, hw int, gain *[3]float32)
// warpScatterAVX for the three planes at once, hw values apart (in p and
// grad alike): their sums, independent, overlap in time.
TEXT ·warpScatter3AVX(SB), NOSPLIT, $384-88
	MOVQ p+0(FP), SI
	MOVQ grad+8(FP), BX
	MOVQ idx+16(FP), DX
	MOVQ k0+24(FP), R8
	MOVQ k1+32(FP), R9
	MOVQ k2+40(FP), R10
	MOVQ k3+48(FP), R11
	MOVQ n+56(FP), CX
	MOVQ hw+72(FP), R14
	SHLQ $2, R14 // bytes between planes
	LEAQ (SI)(R14*1), DI
	LEAQ (DI)(R14*1), R13
	MOVQ gain+80(FP), AX
	VBROADCASTSS 0(AX), Y13
	VBROADCASTSS 4(AX), Y12
	VBROADCASTSS 8(AX), Y11
	SHRQ $3, CX
	JZ   scatter3done

scatter3loop:
	PLANEPRODUCTS((BX), Y13, 0)
	PLANEPRODUCTS((BX)(R14*1), Y12, 128)
	PLANEPRODUCTS((BX)(R14*2), Y11, 256)
	SCATTER3LANE(0)
	SCATTER3LANE(4)
	SCATTER3LANE(8)
	SCATTER3LANE(12)
	SCATTER3LANE(16)
	SCATTER3LANE(20)
	SCATTER3LANE(24)
	SCATTER3LANE(28)
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ CX
	JNZ  scatter3loop

scatter3done:
	VZEROUPPER
	RET

DATA onec<>+0x00(SB)/4, $1.0
GLOBL onec<>(SB), RODATA|NOPTR, $4

// func sigmoidGradMixAVX(dst, grad, sig *float32, plane, n int, m *[9]float32)
// For n pixels (a multiple of 8) of three planes spaced plane values apart,
// with a[d] = grad[d]·sig[d]·(1 - sig[d]) (the gradient through the
// sigmoid): dst[c] = m[3c]·a[0] + m[3c+1]·a[1] + m[3c+2]·a[2].
TEXT ·sigmoidGradMixAVX(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ sig+16(FP), BX
	MOVQ plane+24(FP), DX
	SHLQ $2, DX
	MOVQ n+32(FP), CX
	MOVQ m+40(FP), AX
	VBROADCASTSS onec<>+0x00(SB), Y15
	VBROADCASTSS 0(AX), Y6
	VBROADCASTSS 4(AX), Y7
	VBROADCASTSS 8(AX), Y8
	VBROADCASTSS 12(AX), Y9
	VBROADCASTSS 16(AX), Y10
	VBROADCASTSS 20(AX), Y11
	VBROADCASTSS 24(AX), Y12
	VBROADCASTSS 28(AX), Y13
	VBROADCASTSS 32(AX), Y14
	SHRQ $3, CX
	JZ   gradmixdone

gradmixloop:
	VMOVUPS (BX), Y0
	VSUBPS  Y0, Y15, Y3
	VMULPS  (SI), Y0, Y0
	VMULPS  Y3, Y0, Y0 // a[0]
	VMOVUPS (BX)(DX*1), Y1
	VSUBPS  Y1, Y15, Y3
	VMULPS  (SI)(DX*1), Y1, Y1
	VMULPS  Y3, Y1, Y1 // a[1]
	LEAQ    (BX)(DX*2), R8
	LEAQ    (SI)(DX*2), R9
	VMOVUPS (R8), Y2
	VSUBPS  Y2, Y15, Y3
	VMULPS  (R9), Y2, Y2
	VMULPS  Y3, Y2, Y2 // a[2]

	VMULPS      Y0, Y6, Y3
	VFMADD231PS Y1, Y7, Y3
	VFMADD231PS Y2, Y8, Y3
	VMOVUPS     Y3, (DI)
	VMULPS      Y0, Y9, Y4
	VFMADD231PS Y1, Y10, Y4
	VFMADD231PS Y2, Y11, Y4
	VMOVUPS     Y4, (DI)(DX*1)
	VMULPS      Y0, Y12, Y5
	VFMADD231PS Y1, Y13, Y5
	VFMADD231PS Y2, Y14, Y5
	LEAQ        (DI)(DX*2), R8
	VMOVUPS     Y5, (R8)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, BX
	DECQ CX
	JNZ  gradmixloop

gradmixdone:
	VZEROUPPER
	RET

DATA reverse<>+0x00(SB)/4, $7
DATA reverse<>+0x04(SB)/4, $6
DATA reverse<>+0x08(SB)/4, $5
DATA reverse<>+0x0c(SB)/4, $4
DATA reverse<>+0x10(SB)/4, $3
DATA reverse<>+0x14(SB)/4, $2
DATA reverse<>+0x18(SB)/4, $1
DATA reverse<>+0x1c(SB)/4, $0
GLOBL reverse<>(SB), RODATA|NOPTR, $32

// func unfoldPairAVX(zm, zp, a1, a2, b1, b2 *float32, n, w int)
// unfoldPair's loop for x = 1..n (n a multiple of 8, 2n < w): with
// c = a1[x], s = a2[x-1], d = b1[x], t = b2[x-1], cm = c - d, sm = s - t,
// cp = c + d, sp = s + t: zm[x] = cm + sm, zm[w-x] = cm - sm, zp[x] =
// cp + sp, zp[w-x] = cp - sp. The columns w-x run backwards: each vector
// is reversed before its store.
TEXT ·unfoldPairAVX(SB), NOSPLIT, $0-64
	MOVQ zm+0(FP), DI
	MOVQ zp+8(FP), SI
	MOVQ a1+16(FP), R8
	MOVQ a2+24(FP), R9
	MOVQ b1+32(FP), R10
	MOVQ b2+40(FP), R11
	MOVQ n+48(FP), CX
	MOVQ w+56(FP), DX
	VMOVDQU reverse<>(SB), Y15
	LEAQ    -32(DI)(DX*4), AX // zm[w-8], the first backward store
	LEAQ    -32(SI)(DX*4), BX // zp[w-8]
	ADDQ    $4, DI            // zm[1]
	ADDQ    $4, SI            // zp[1]
	ADDQ    $4, R8            // a1[1]
	ADDQ    $4, R10           // b1[1]
	SHRQ    $3, CX
	JZ      unfolddone

unfoldloop:
	VMOVUPS (R8), Y0
	VMOVUPS (R9), Y1
	VMOVUPS (R10), Y2
	VMOVUPS (R11), Y3
	VSUBPS  Y2, Y0, Y4 // cm
	VSUBPS  Y3, Y1, Y5 // sm
	VADDPS  Y2, Y0, Y6 // cp
	VADDPS  Y3, Y1, Y7 // sp
	VADDPS  Y5, Y4, Y8
	VMOVUPS Y8, (DI)
	VSUBPS  Y5, Y4, Y9
	VPERMPS Y9, Y15, Y9
	VMOVUPS Y9, (AX)
	VADDPS  Y7, Y6, Y8
	VMOVUPS Y8, (SI)
	VSUBPS  Y7, Y6, Y9
	VPERMPS Y9, Y15, Y9
	VMOVUPS Y9, (BX)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $32, AX
	SUBQ $32, BX
	DECQ CX
	JNZ  unfoldloop

unfolddone:
	VZEROUPPER
	RET

// func foldPairAVX(a1, a2, b1, b2, gm, gp *float32, n, w int)
// foldPair's loop for x = 1..n (n a multiple of 8, 2n < w): with m0 =
// gm[x], m1 = gm[w-x], p0 = gp[x], p1 = gp[w-x], s0 = m0 + p0, s1 = m1 +
// p1, d0 = p0 - m0, d1 = p1 - m1: a1[x] = s0 + s1, a2[x-1] = s0 - s1,
// b1[x] = d0 + d1, b2[x-1] = d0 - d1. The columns w-x are loaded
// backwards and reversed.
TEXT ·foldPairAVX(SB), NOSPLIT, $0-64
	MOVQ a1+0(FP), R8
	MOVQ a2+8(FP), R9
	MOVQ b1+16(FP), R10
	MOVQ b2+24(FP), R11
	MOVQ gm+32(FP), DI
	MOVQ gp+40(FP), SI
	MOVQ n+48(FP), CX
	MOVQ w+56(FP), DX
	VMOVDQU reverse<>(SB), Y15
	LEAQ    -32(DI)(DX*4), AX // gm[w-8]
	LEAQ    -32(SI)(DX*4), BX // gp[w-8]
	ADDQ    $4, DI
	ADDQ    $4, SI
	ADDQ    $4, R8
	ADDQ    $4, R10
	SHRQ    $3, CX
	JZ      folddone

foldloop:
	VMOVUPS (DI), Y0 // m0
	VPERMPS (AX), Y15, Y1 // m1
	VMOVUPS (SI), Y2 // p0
	VPERMPS (BX), Y15, Y3 // p1
	VADDPS  Y2, Y0, Y4 // s0
	VADDPS  Y3, Y1, Y5 // s1
	VSUBPS  Y0, Y2, Y6 // d0
	VSUBPS  Y1, Y3, Y7 // d1
	VADDPS  Y5, Y4, Y8
	VMOVUPS Y8, (R8)
	VSUBPS  Y5, Y4, Y8
	VMOVUPS Y8, (R9)
	VADDPS  Y7, Y6, Y8
	VMOVUPS Y8, (R10)
	VSUBPS  Y7, Y6, Y8
	VMOVUPS Y8, (R11)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $32, AX
	SUBQ $32, BX
	DECQ CX
	JNZ  foldloop

folddone:
	VZEROUPPER
	RET

// func sumDiffScaleAVX(s, d, a, b, k *float32, n int)
// For n values (a multiple of 8): s = k·(a + b), d = k·(a - b).
TEXT ·sumDiffScaleAVX(SB), NOSPLIT, $0-48
	MOVQ s+0(FP), DI
	MOVQ d+8(FP), SI
	MOVQ a+16(FP), R8
	MOVQ b+24(FP), R9
	MOVQ k+32(FP), R10
	MOVQ n+40(FP), CX
	SHRQ $3, CX
	JZ   sumdiffdone

sumdiffloop:
	VMOVUPS (R8), Y0
	VMOVUPS (R9), Y1
	VMOVUPS (R10), Y2
	VADDPS  Y1, Y0, Y3
	VMULPS  Y2, Y3, Y3
	VSUBPS  Y1, Y0, Y4
	VMULPS  Y2, Y4, Y4
	VMOVUPS Y3, (DI)
	VMOVUPS Y4, (SI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	DECQ CX
	JNZ  sumdiffloop

sumdiffdone:
	VZEROUPPER
	RET

// func warpGather3AVX(d, p *float32, idx *int32, k0, k1, k2, k3 *float32, n, w, hw int, gain, bias *[3]float32)
// warpGatherAVX for three planes hw values apart (in p and d alike), the
// pairs of neighbouring taps loaded together: each 64-bit gather brings
// p[i] and p[i+1] (or p[i+w], p[i+w+1]) of four pixels, half the loads
// of gathering them one by one. The pairs split into the lanes
// [0 1 4 5 | 2 3 6 7]; the weights are put in that order, the results
// back in order.
TEXT ·warpGather3AVX(SB), NOSPLIT, $0-96
	MOVQ d+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ idx+16(FP), DX
	MOVQ k0+24(FP), R8
	MOVQ k1+32(FP), R9
	MOVQ k2+40(FP), R10
	MOVQ k3+48(FP), R11
	MOVQ n+56(FP), CX
	MOVQ w+64(FP), R12
	SHLQ $2, R12 // bytes to the row below
	MOVQ hw+72(FP), BX
	SHLQ $2, BX // bytes between planes
	MOVQ gain+80(FP), AX
	VBROADCASTSS 0(AX), Y13
	VBROADCASTSS 4(AX), Y11
	VBROADCASTSS 8(AX), Y9
	MOVQ bias+88(FP), AX
	VBROADCASTSS 0(AX), Y12
	VBROADCASTSS 4(AX), Y10
	VBROADCASTSS 8(AX), Y8
	SHRQ $3, CX
	JZ   gather3done

gather3loop:
	VMOVDQU (DX), X0
	VMOVDQU 16(DX), X1
	VPERMPD $0xD8, (R8), Y4 // the weights in the pairs' order
	VPERMPD $0xD8, (R9), Y5
	VPERMPD $0xD8, (R10), Y6
	VPERMPD $0xD8, (R11), Y7
	MOVQ SI, AX
	MOVQ DI, R13
	MOVQ $3, R14

gather3plane:
	LEAQ       (AX)(R12*1), R15
	VPCMPEQD   Y14, Y14, Y14
	VPGATHERDQ Y14, (AX)(X0*4), Y2
	VPCMPEQD   Y14, Y14, Y14
	VPGATHERDQ Y14, (AX)(X1*4), Y3
	VSHUFPS    $0x88, Y3, Y2, Y15 // p[i]
	VSHUFPS    $0xDD, Y3, Y2, Y3  // p[i+1]
	VMULPS     Y4, Y15, Y15
	VMULPS     Y5, Y3, Y3
	VADDPS     Y3, Y15, Y15
	VPCMPEQD   Y14, Y14, Y14
	VPGATHERDQ Y14, (R15)(X0*4), Y2
	VPCMPEQD   Y14, Y14, Y14
	VPGATHERDQ Y14, (R15)(X1*4), Y3
	VSHUFPS    $0x88, Y3, Y2, Y14 // p[i+w]
	VSHUFPS    $0xDD, Y3, Y2, Y3  // p[i+w+1]
	VMULPS     Y6, Y14, Y14
	VADDPS     Y14, Y15, Y15
	VMULPS     Y7, Y3, Y3
	VADDPS     Y3, Y15, Y15
	VPERMPD    $0xD8, Y15, Y15 // back in order
	CMPQ       R14, $3
	JNE        gather3g1
	VMULPS     Y13, Y15, Y15
	VADDPS     Y12, Y15, Y15
	JMP        gather3store

gather3g1:
	CMPQ   R14, $2
	JNE    gather3g2
	VMULPS Y11, Y15, Y15
	VADDPS Y10, Y15, Y15
	JMP    gather3store

gather3g2:
	VMULPS Y9, Y15, Y15
	VADDPS Y8, Y15, Y15

gather3store:
	VMOVUPS Y15, (R13)
	ADDQ    BX, AX
	ADDQ    BX, R13
	DECQ    R14
	JNZ     gather3plane

	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ CX
	JNZ  gather3loop

gather3done:
	VZEROUPPER
	RET

// func mirrorAVX(fwd, back, a, b *float32, n int)
// For i = 0..n-1 (n a multiple of 8): fwd[i] = a[i] + b[i] and, back
// pointing at the element for i = 0 and running backwards, back[-i] =
// a[i] - b[i].
TEXT ·mirrorAVX(SB), NOSPLIT, $0-40
	MOVQ fwd+0(FP), DI
	MOVQ back+8(FP), SI
	MOVQ a+16(FP), R8
	MOVQ b+24(FP), R9
	MOVQ n+32(FP), CX
	VMOVDQU reverse<>(SB), Y15
	SUBQ    $28, SI // back[-7], the start of the first backward store
	SHRQ    $3, CX
	JZ      mirrordone

mirrorloop:
	VMOVUPS (R8), Y0
	VMOVUPS (R9), Y1
	VADDPS  Y1, Y0, Y2
	VSUBPS  Y1, Y0, Y3
	VPERMPS Y3, Y15, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, (SI)
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $32, SI
	DECQ CX
	JNZ  mirrorloop

mirrordone:
	VZEROUPPER
	RET

// func foldMirrorAVX(s, d, a, back *float32, n int)
// mirrorAVX transposed: for i = 0..n-1 (n a multiple of 8), with back
// running backwards from the element for i = 0: s[i] = a[i] + back[-i],
// d[i] = a[i] - back[-i].
TEXT ·foldMirrorAVX(SB), NOSPLIT, $0-40
	MOVQ s+0(FP), DI
	MOVQ d+8(FP), DX
	MOVQ a+16(FP), R8
	MOVQ back+24(FP), SI
	MOVQ n+32(FP), CX
	VMOVDQU reverse<>(SB), Y15
	SUBQ    $28, SI
	SHRQ    $3, CX
	JZ      foldmirrordone

foldmirrorloop:
	VMOVUPS (R8), Y0
	VPERMPS (SI), Y15, Y1
	VADDPS  Y1, Y0, Y2
	VSUBPS  Y1, Y0, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, (DX)
	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, R8
	SUBQ $32, SI
	DECQ CX
	JNZ  foldmirrorloop

foldmirrordone:
	VZEROUPPER
	RET

// func sumDiffAVX(s, d, a, b *float32, n int)
// For n values (a multiple of 8): s = a + b, d = a - b.
TEXT ·sumDiffAVX(SB), NOSPLIT, $0-40
	MOVQ s+0(FP), DI
	MOVQ d+8(FP), SI
	MOVQ a+16(FP), R8
	MOVQ b+24(FP), R9
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   sumdiffonlydone

sumdiffonlyloop:
	VMOVUPS (R8), Y0
	VMOVUPS (R9), Y1
	VADDPS  Y1, Y0, Y2
	VSUBPS  Y1, Y0, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, (SI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  sumdiffonlyloop

sumdiffonlydone:
	VZEROUPPER
	RET
