package docker

// DownUpstream is downUpstream for the tests of package docker_test.
const DownUpstream = downUpstream
