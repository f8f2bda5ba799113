//go:build linux && arm64

package bindings

import "unsafe"

// The program's reads of the CPU's ID registers. EL0 cannot read them
// (MRS traps: ESR_EL1.EC 0x18 with FEAT_IDST, else an undefined
// instruction), and Linux 4.11 and later emulate the read, so programs
// do it: golang.org/x/sys/cpu reads ID_AA64ISAR0_EL1, ID_AA64ISAR1_EL1
// and ID_AA64PFR0_EL1 when it finds no /proc/self/auxv, and gVisor's
// netstack imports it. As Linux (arch/arm64/kernel/cpufeature.c,
// emulate_sys_reg), the register space Op0=3, Op1=0, CRn=0, CRm 2-7
// reads as the registers' user-visible fields and anything unknown there
// as zero, CRm 0 has MIDR_EL1, MPIDR_EL1 and REVIDR_EL1; any other MRS
// is SIGILL. Unlike Linux, the ID registers this kernel does not list
// (ID_AA64MMFR*, ID_AA64PFR1, ID_AA64ZFR0, the AArch32 ones) read as zero.

// ecSysReg is ESR_EL1.EC of a trapped MRS, MSR or system instruction.
const ecSysReg = 0x18

// The encodings (sysRegKey) of the ID registers the program may read, as
// constants: the tables below must be static data, because the kernel
// reads them before the Go runtime's package initialisation (the
// runtime's own internal/cpu reads MIDR_EL1 as it starts).
const (
	keyMIDR   = 3<<14 | 0<<11 | 0<<7 | 0<<3 | 0
	keyMPIDR  = 3<<14 | 0<<11 | 0<<7 | 0<<3 | 5
	keyREVIDR = 3<<14 | 0<<11 | 0<<7 | 0<<3 | 6
	keyPFR0   = 3<<14 | 0<<11 | 0<<7 | 4<<3 | 0
	keyISAR0  = 3<<14 | 0<<11 | 0<<7 | 6<<3 | 0
	keyISAR1  = 3<<14 | 0<<11 | 0<<7 | 6<<3 | 1
)

// idRegs are the ID registers the kernel reads for the program, by their
// encoding (Op0, Op1, CRn, CRm, Op2 packed as sysRegKey does), with the
// request index kidreg (cpu_arm64.s: SVC #5) reads them by, the mask of the
// fields Linux shows the program and the value of the hidden ones.
var idRegs = [...]struct {
	key          uint32
	index        uint64
	mask, hidden uint64
}{
	{keyMIDR, idMIDR, ^uint64(0), 0},
	// MPIDR_EL1 and REVIDR_EL1 read as fixed values (Linux's safe ones):
	// nothing is read from the CPU.
	{keyMPIDR, idNone, 0, 1 << 31},
	{keyREVIDR, idNone, 0, 0},
	// FP, AdvSIMD and DIT; EL0 reads as AArch64 only, as on Linux; not
	// SVE, which the kernel leaves disabled (CPACR_EL1.ZEN).
	{keyPFR0, idPFR0, 0xf<<48 | 0xff<<16, 1},
	// Everything but the TLB-maintenance field, as Linux.
	{keyISAR0, idISAR0, ^uint64(0xf << 56), 0},
	// Everything but pointer authentication (APA, API, GPA, GPI), which
	// the kernel does not enable for the program.
	{keyISAR1, idISAR1, ^uint64(0xff<<24 | 0xff<<4), 0},
}

// Request indexes of kidreg.
const (
	idNone  = ^uint64(0)
	idMIDR  = 0
	idPFR0  = 1
	idISAR0 = 2
	idISAR1 = 3
)

func sysRegKey(op0, op1, crn, crm, op2 uint32) uint32 {
	return op0<<14 | op1<<11 | crn<<7 | crm<<3 | op2
}

// visibleIDReg is the value the program reads from the ID register with
// encoding key (sysRegKey), and whether idRegs lists it.
func visibleIDReg(key uint32) (uint64, bool) {
	for _, r := range idRegs {
		if r.key == key {
			v := r.hidden
			if r.index != idNone {
				v |= idReg(r.index) & r.mask
			}
			return v, true
		}
	}
	return 0, false
}

// AT_HWCAP bits (Linux's arch/arm64/include/uapi/asm/hwcap.h).
const (
	hwcapFP       = 1 << 0
	hwcapASIMD    = 1 << 1
	hwcapAES      = 1 << 3
	hwcapPMULL    = 1 << 4
	hwcapSHA1     = 1 << 5
	hwcapSHA2     = 1 << 6
	hwcapCRC32    = 1 << 7
	hwcapATOMICS  = 1 << 8
	hwcapFPHP     = 1 << 9
	hwcapASIMDHP  = 1 << 10
	hwcapCPUID    = 1 << 11
	hwcapASIMDRDM = 1 << 12
	hwcapJSCVT    = 1 << 13
	hwcapFCMA     = 1 << 14
	hwcapLRCPC    = 1 << 15
	hwcapDCPOP    = 1 << 16
	hwcapSHA3     = 1 << 17
	hwcapSM3      = 1 << 18
	hwcapSM4      = 1 << 19
	hwcapASIMDDP  = 1 << 20
	hwcapSHA512   = 1 << 21
	hwcapASIMDFHM = 1 << 23
	hwcapDIT      = 1 << 24
	hwcapILRCPC   = 1 << 26
	hwcapFLAGM    = 1 << 27
	hwcapSB       = 1 << 29
)

// hwcapFields map ID register fields to AT_HWCAP bits as Linux does
// (arm64_elf_hwcaps in arch/arm64/kernel/cpufeature.c): the bit is set
// when the field is at least min. FP and AdvSIMD are signed fields
// (0xf: absent) and are handled apart.
var hwcapFields = [...]struct {
	reg        uint32
	shift, min uint8
	bit        uint64
}{
	{keyISAR0, 4, 1, hwcapAES},
	{keyISAR0, 4, 2, hwcapPMULL},
	{keyISAR0, 8, 1, hwcapSHA1},
	{keyISAR0, 12, 1, hwcapSHA2},
	{keyISAR0, 12, 2, hwcapSHA512},
	{keyISAR0, 16, 1, hwcapCRC32},
	{keyISAR0, 20, 2, hwcapATOMICS},
	{keyISAR0, 28, 1, hwcapASIMDRDM},
	{keyISAR0, 32, 1, hwcapSHA3},
	{keyISAR0, 36, 1, hwcapSM3},
	{keyISAR0, 40, 1, hwcapSM4},
	{keyISAR0, 44, 1, hwcapASIMDDP},
	{keyISAR0, 48, 1, hwcapASIMDFHM},
	{keyISAR0, 52, 1, hwcapFLAGM},
	{keyISAR1, 0, 1, hwcapDCPOP},
	{keyISAR1, 12, 1, hwcapJSCVT},
	{keyISAR1, 16, 1, hwcapFCMA},
	{keyISAR1, 20, 1, hwcapLRCPC},
	{keyISAR1, 20, 2, hwcapILRCPC},
	{keyISAR1, 36, 1, hwcapSB},
	{keyPFR0, 48, 1, hwcapDIT},
}

// cpuHWCap is AT_HWCAP: the features of the ID registers as the program
// reads them (visibleIDReg), which the Go runtime uses to choose its
// atomics and the crypto packages their instructions. CPUID is set
// because this kernel emulates the ID registers' reads, as Linux.
func cpuHWCap() uint64 {
	h := uint64(hwcapCPUID)
	pfr0, _ := visibleIDReg(keyPFR0)
	switch fp := pfr0 >> 16 & 0xf; fp {
	case 0xf:
	case 0:
		h |= hwcapFP
	default:
		h |= hwcapFP | hwcapFPHP
	}
	switch simd := pfr0 >> 20 & 0xf; simd {
	case 0xf:
	case 0:
		h |= hwcapASIMD
	default:
		h |= hwcapASIMD | hwcapASIMDHP
	}
	for _, f := range hwcapFields {
		if v, _ := visibleIDReg(f.reg); uint8(v>>f.shift&0xf) >= f.min {
			h |= f.bit
		}
	}
	return h
}

// emulateMRS serves the program's read of an ID register at f.PC (the
// trap's ESR in f): true when it did, with the value in the target
// register and the PC past the instruction.
func emulateMRS(f *frame) bool {
	var insn uint32
	switch f.ESR >> 26 & 0x3f {
	case ecSysReg:
		// ISS: Op0 21:20, Op2 19:17, Op1 16:14, CRn 13:10, Rt 9:5,
		// CRm 4:1, direction 0 (1: read).
		iss := uint32(f.ESR & 0x1ffffff)
		if iss&1 == 0 {
			return false
		}
		insn = 0xd5200000 | iss>>20&3<<19 | iss>>14&7<<16 | iss>>10&0xf<<12 | iss>>1&0xf<<8 | iss>>17&7<<5 | iss>>5&0x1f
	case ecUnknown:
		// No FEAT_IDST: an undefined instruction; look at it.
		if !copyIn(unsafe.Pointer(&insn), uintptr(f.PC), 4) {
			return false
		}
	default:
		return false
	}
	// MRS: 1101 0101 0011 o0 op1 CRn CRm op2 Rt, Op0 = 2+o0.
	if insn&0xfff00000 != 0xd5300000 {
		return false
	}
	op0, op1, crn, crm, op2 := 2+insn>>19&1, insn>>16&7, insn>>12&0xf, insn>>8&0xf, insn>>5&7
	if op0 != 3 || op1 != 0 || crn != 0 || crm == 1 || crm > 7 {
		return false
	}
	v, known := visibleIDReg(sysRegKey(op0, op1, crn, crm, op2))
	if crm == 0 && !known {
		return false // Linux emulates only MIDR, MPIDR and REVIDR there
	}
	if rt := insn & 0x1f; rt != 31 { // XZR
		f.X[rt] = v
	}
	f.PC += 4
	return true
}
