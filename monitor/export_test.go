package monitor

// HostMemory is the VM's guest memory as the host maps it, for tests that
// look at what is resident.
func HostMemory(vm *VM) []byte { return vm.mem.Host() }
