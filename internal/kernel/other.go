//go:build purego || !amd64

package kernel

func init() {
	impls = []*impl{goImpl}
	cur = goImpl
}
