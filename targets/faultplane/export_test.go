package faultplane

// StopRenewingForTest stops renewing p's lease without releasing it: chaosctl
// killed.
func StopRenewingForTest(p *Plane) {
	p.mu.Lock()
	k := p.lease
	p.lease = nil
	p.mu.Unlock()
	k.Abandon()
}
