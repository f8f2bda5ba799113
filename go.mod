module github.com/unimon/unimon

go 1.26.0

require golang.org/x/sys v0.50.0

require (
	github.com/elastic/go-seccomp-bpf v1.6.0
	golang.org/x/arch v0.33.0
	golang.org/x/net v0.41.0
)
