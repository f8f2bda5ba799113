package main

// ill runs UDF #0: SIGILL.
func ill()

// privileged runs MRS X0, SCTLR_EL1: a system register EL0 may not read,
// and not an ID register the kernel emulates the read of: SIGILL, as on
// Linux.
func privileged()

// idISAR0 reads ID_AA64ISAR0_EL1 with MRS: an ID register, whose read
// traps and which the kernel emulates, as Linux does.
func idISAR0() uint64
