#include "textflag.h"

// func masks64AVX2(p *byte, m *chunkMasks)
//
// The byte classes of the 64 bytes at p, one bit a byte (bit i for p[i]),
// in the order of chunkMasks' fields: dot, colon, dash, other ('@', 'A',
// 'J', 'P'), c ('c', 'C'), r ('r', 'R'), digit, hex, space. Two 32-byte
// vectors compared with rows of the classes table (each a byte repeated 32
// times); every class is an exact byte comparison (VPCMPEQB) or an unsigned
// range (VPMINUB against the range's width after VPSUBB), so a byte of 0x80
// and above is in no class.

// The rows: '.', ':', '-', ' ', '@', 'A', 'J', 'P', '0', 9, 0x20, 'c', 'r',
// 'a', 5.
DATA classes<>+0(SB)/8, $0x2e2e2e2e2e2e2e2e
DATA classes<>+8(SB)/8, $0x2e2e2e2e2e2e2e2e
DATA classes<>+16(SB)/8, $0x2e2e2e2e2e2e2e2e
DATA classes<>+24(SB)/8, $0x2e2e2e2e2e2e2e2e
DATA classes<>+32(SB)/8, $0x3a3a3a3a3a3a3a3a
DATA classes<>+40(SB)/8, $0x3a3a3a3a3a3a3a3a
DATA classes<>+48(SB)/8, $0x3a3a3a3a3a3a3a3a
DATA classes<>+56(SB)/8, $0x3a3a3a3a3a3a3a3a
DATA classes<>+64(SB)/8, $0x2d2d2d2d2d2d2d2d
DATA classes<>+72(SB)/8, $0x2d2d2d2d2d2d2d2d
DATA classes<>+80(SB)/8, $0x2d2d2d2d2d2d2d2d
DATA classes<>+88(SB)/8, $0x2d2d2d2d2d2d2d2d
DATA classes<>+96(SB)/8, $0x2020202020202020
DATA classes<>+104(SB)/8, $0x2020202020202020
DATA classes<>+112(SB)/8, $0x2020202020202020
DATA classes<>+120(SB)/8, $0x2020202020202020
DATA classes<>+128(SB)/8, $0x4040404040404040
DATA classes<>+136(SB)/8, $0x4040404040404040
DATA classes<>+144(SB)/8, $0x4040404040404040
DATA classes<>+152(SB)/8, $0x4040404040404040
DATA classes<>+160(SB)/8, $0x4141414141414141
DATA classes<>+168(SB)/8, $0x4141414141414141
DATA classes<>+176(SB)/8, $0x4141414141414141
DATA classes<>+184(SB)/8, $0x4141414141414141
DATA classes<>+192(SB)/8, $0x4a4a4a4a4a4a4a4a
DATA classes<>+200(SB)/8, $0x4a4a4a4a4a4a4a4a
DATA classes<>+208(SB)/8, $0x4a4a4a4a4a4a4a4a
DATA classes<>+216(SB)/8, $0x4a4a4a4a4a4a4a4a
DATA classes<>+224(SB)/8, $0x5050505050505050
DATA classes<>+232(SB)/8, $0x5050505050505050
DATA classes<>+240(SB)/8, $0x5050505050505050
DATA classes<>+248(SB)/8, $0x5050505050505050
DATA classes<>+256(SB)/8, $0x3030303030303030
DATA classes<>+264(SB)/8, $0x3030303030303030
DATA classes<>+272(SB)/8, $0x3030303030303030
DATA classes<>+280(SB)/8, $0x3030303030303030
DATA classes<>+288(SB)/8, $0x0909090909090909
DATA classes<>+296(SB)/8, $0x0909090909090909
DATA classes<>+304(SB)/8, $0x0909090909090909
DATA classes<>+312(SB)/8, $0x0909090909090909
DATA classes<>+320(SB)/8, $0x2020202020202020
DATA classes<>+328(SB)/8, $0x2020202020202020
DATA classes<>+336(SB)/8, $0x2020202020202020
DATA classes<>+344(SB)/8, $0x2020202020202020
DATA classes<>+352(SB)/8, $0x6363636363636363
DATA classes<>+360(SB)/8, $0x6363636363636363
DATA classes<>+368(SB)/8, $0x6363636363636363
DATA classes<>+376(SB)/8, $0x6363636363636363
DATA classes<>+384(SB)/8, $0x7272727272727272
DATA classes<>+392(SB)/8, $0x7272727272727272
DATA classes<>+400(SB)/8, $0x7272727272727272
DATA classes<>+408(SB)/8, $0x7272727272727272
DATA classes<>+416(SB)/8, $0x6161616161616161
DATA classes<>+424(SB)/8, $0x6161616161616161
DATA classes<>+432(SB)/8, $0x6161616161616161
DATA classes<>+440(SB)/8, $0x6161616161616161
DATA classes<>+448(SB)/8, $0x0505050505050505
DATA classes<>+456(SB)/8, $0x0505050505050505
DATA classes<>+464(SB)/8, $0x0505050505050505
DATA classes<>+472(SB)/8, $0x0505050505050505
GLOBL classes<>(SB), RODATA|NOPTR, $480

// STORE stores at off(DI) the mask of Y2:Y3's top bits, 64 bits.
#define STORE(off) VPMOVMSKB Y2, AX; VPMOVMSKB Y3, BX; SHLQ $32, BX; ORQ BX, AX; MOVQ AX, off(DI)

TEXT ·masks64AVX2(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ m+8(FP), DI
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1

	VPCMPEQB classes<>+0(SB), Y0, Y2
	VPCMPEQB classes<>+0(SB), Y1, Y3
	STORE(0)
	VPCMPEQB classes<>+32(SB), Y0, Y2
	VPCMPEQB classes<>+32(SB), Y1, Y3
	STORE(8)
	VPCMPEQB classes<>+64(SB), Y0, Y2
	VPCMPEQB classes<>+64(SB), Y1, Y3
	STORE(16)
	VPCMPEQB classes<>+96(SB), Y0, Y2
	VPCMPEQB classes<>+96(SB), Y1, Y3
	STORE(64)

	// other: '@', 'A', 'J', 'P'.
	VPCMPEQB classes<>+128(SB), Y0, Y2
	VPCMPEQB classes<>+128(SB), Y1, Y3
	VPCMPEQB classes<>+160(SB), Y0, Y4
	VPCMPEQB classes<>+160(SB), Y1, Y5
	VPOR Y4, Y2, Y2
	VPOR Y5, Y3, Y3
	VPCMPEQB classes<>+192(SB), Y0, Y4
	VPCMPEQB classes<>+192(SB), Y1, Y5
	VPOR Y4, Y2, Y2
	VPOR Y5, Y3, Y3
	VPCMPEQB classes<>+224(SB), Y0, Y4
	VPCMPEQB classes<>+224(SB), Y1, Y5
	VPOR Y4, Y2, Y2
	VPOR Y5, Y3, Y3
	STORE(24)

	// digit: p[i]-'0' <= 9 unsigned (Y6:Y7 kept for hex).
	VPSUBB classes<>+256(SB), Y0, Y2
	VPSUBB classes<>+256(SB), Y1, Y3
	VPMINUB classes<>+288(SB), Y2, Y4
	VPMINUB classes<>+288(SB), Y3, Y5
	VPCMPEQB Y4, Y2, Y6
	VPCMPEQB Y5, Y3, Y7
	VMOVDQU Y6, Y2
	VMOVDQU Y7, Y3
	STORE(48)

	// Fold ASCII case: Y0:Y1 |= 0x20 (a byte of 0x80 and above stays
	// one). c and r on the folded bytes, then hex letters: folded-'a' <= 5.
	VPOR classes<>+320(SB), Y0, Y0
	VPOR classes<>+320(SB), Y1, Y1
	VPCMPEQB classes<>+352(SB), Y0, Y2
	VPCMPEQB classes<>+352(SB), Y1, Y3
	STORE(32)
	VPCMPEQB classes<>+384(SB), Y0, Y2
	VPCMPEQB classes<>+384(SB), Y1, Y3
	STORE(40)
	VPSUBB classes<>+416(SB), Y0, Y2
	VPSUBB classes<>+416(SB), Y1, Y3
	VPMINUB classes<>+448(SB), Y2, Y4
	VPMINUB classes<>+448(SB), Y3, Y5
	VPCMPEQB Y4, Y2, Y2
	VPCMPEQB Y5, Y3, Y3
	VPOR Y6, Y2, Y2
	VPOR Y7, Y3, Y3
	STORE(56)

	VZEROUPPER
	RET
