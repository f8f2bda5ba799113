package x86len_test

import (
	"fmt"

	"github.com/unimon/unimon/internal/x86len"
)

// Walking code instruction by instruction to find the SYSCALLs: the 0f 05
// inside the MOV's immediate is not one.
func ExampleDecode() {
	code := []byte{
		0x48, 0xb8, 0x0f, 0x05, 0, 0, 0, 0, 0, 0, // MOVQ $0x50f, AX
		0x4c, 0x0f, 0x38, 0xf6, 0xeb, // ADCXQ BX, R13
		0x0f, 0x05, // SYSCALL
	}
	for pc := 0; pc < len(code); {
		in, err := x86len.Decode(code[pc:])
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%#x: %d bytes, %v map %d opcode %#x, syscall %v\n", pc, in.Len, in.Encoding, in.Map, in.Op, in.IsSyscall())
		pc += in.Len
	}
	// Output:
	// 0x0: 10 bytes, legacy map 0 opcode 0xb8, syscall false
	// 0xa: 5 bytes, legacy map 2 opcode 0xf6, syscall false
	// 0xf: 2 bytes, legacy map 1 opcode 0x5, syscall true
}
