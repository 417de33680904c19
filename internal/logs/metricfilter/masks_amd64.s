#include "textflag.h"

// func eqMasksAVX2(p *byte, chunks int, rows *[maskRows][32]byte, n int, out *uint64)
//
// For each of chunks 64-byte chunks at p and each of the first n rows (a
// byte repeated 32 times), the mask of the chunk's bytes equal to the
// row's byte (bit i for byte i), at out[row*chunks+chunk] (row by row, so
// that a literal's reader walks its two rows in order): two 32-byte
// vectors compared (VPCMPEQB) and their top bits gathered (VPMOVMSKB).
TEXT ·eqMasksAVX2(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), SI
	MOVQ chunks+8(FP), DX
	MOVQ rows+16(FP), R8
	MOVQ n+24(FP), R9
	MOVQ out+32(FP), DI
	TESTQ DX, DX
	JZ done
	TESTQ R9, R9
	JZ done
	MOVQ DX, R13
	SHLQ $3, R13 // a row's stride in out: chunks*8 bytes

chunk:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	MOVQ R8, R10
	MOVQ R9, CX
	MOVQ DI, R12 // the chunk's mask in row 0

row:
	VMOVDQU (R10), Y4
	VPCMPEQB Y4, Y0, Y2
	VPCMPEQB Y4, Y1, Y3
	VPMOVMSKB Y2, AX
	VPMOVMSKB Y3, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, (R12)
	ADDQ $32, R10
	ADDQ R13, R12
	DECQ CX
	JNZ row

	ADDQ $64, SI
	ADDQ $8, DI
	DECQ DX
	JNZ chunk

done:
	VZEROUPPER
	RET
