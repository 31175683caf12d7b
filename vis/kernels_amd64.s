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

// func adamAVX(v, grad, m, s, f *float32, n int, k, eps float32)
// For n values (a multiple of 8), with x = grad (times f when f is not
// nil): m = 0.9 m + 0.1 x, s = 0.999 s + 0.001 x², and v += k m /
// (sqrt(s) + eps), that times f too.
TEXT ·adamAVX(SB), NOSPLIT, $0-56
	MOVQ v+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ s+24(FP), R9
	MOVQ f+32(FP), R10
	MOVQ n+40(FP), CX
	VBROADCASTSS k+48(FP), Y12
	VBROADCASTSS eps+52(FP), Y13
	VBROADCASTSS adamc<>+0x00(SB), Y8
	VBROADCASTSS adamc<>+0x04(SB), Y9
	VBROADCASTSS adamc<>+0x08(SB), Y10
	VBROADCASTSS adamc<>+0x0c(SB), Y11
	SHRQ $3, CX
	JZ   adamdone
	TESTQ R10, R10
	JNZ  adamscaled

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
	JMP  adamdone

adamscaled:
	VMOVUPS     (R10), Y4 // f
	VMULPS      (SI), Y4, Y0 // x = f grad
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
	VMULPS      Y4, Y1, Y1 // times f
	VMOVUPS     (DI), Y3
	VFMADD231PS Y12, Y1, Y3
	VMOVUPS     Y3, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	DECQ CX
	JNZ  adamscaled

adamdone:
	VZEROUPPER
	RET
