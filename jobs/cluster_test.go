package jobs_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wavenet-go/wavenet/jobs"
)

// startCluster starts a NATS cluster of n servers with JetStream on
// loopback, in this process (deploy/'s NATS cluster of 3), and waits for
// its JetStream meta leader.
func startCluster(t *testing.T, n int) []*server.Server {
	t.Helper()
	ports := make([]int, n)
	var routes []*url.URL
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", ports[i])})
	}
	srvs := make([]*server.Server, n)
	for i := range srvs {
		s, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i), Host: "127.0.0.1", Port: server.RANDOM_PORT,
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "wavenet", Host: "127.0.0.1", Port: ports[i]},
			Routes:  routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Shutdown)
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("NATS server n%d did not start", i)
		}
		srvs[i] = s
	}
	// Cluster formation and the meta leader's election take a few
	// seconds; 30 s is generous on a loaded machine.
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, s := range srvs {
			if s.JetStreamIsLeader() {
				return srvs
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the NATS cluster elected no JetStream leader in 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterAckWait is the ack wait on the cluster: writes there go to 3
// servers, which on a loaded machine can take longer than ackWait, and
// a message redelivered while its job runs makes the job run twice
// (though it finishes once).
const clusterAckWait = 5 * time.Second

// openCluster connects a store to url, retrying while the cluster's
// JetStream is not yet ready to create the replicated stream and buckets.
func openCluster(t *testing.T, url string) *jobs.Store {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := jobs.Open(context.Background(), jobs.Options{URL: url, Replicas: 3, AckWait: clusterAckWait})
		if err == nil {
			t.Cleanup(s.Close)
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs.Open(%s) on the cluster: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestCluster runs deploy/'s topology on loopback: a NATS cluster of 3,
// two clients (the serve replicas) and two workers, each on its own
// node. Every job runs once and both clients see it; with the node of
// one worker shut down, the jobs submitted next still all finish.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("a NATS cluster takes seconds to form")
	}
	srvs := startCluster(t, 3)
	a := openCluster(t, srvs[0].ClientURL())
	b := openCluster(t, srvs[1].ClientURL())
	var mu sync.Mutex
	runs := map[string]int{}
	handler := func(ctx context.Context, t *jobs.Task) error {
		mu.Lock()
		runs[t.ID]++
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		return nil
	}
	for _, s := range srvs[1:] {
		w := openCluster(t, s.ClientURL())
		work(t, w, 1, map[string]jobs.Handler{"share": handler})
	}
	check := func(from *jobs.Store, n int) {
		var ids []string
		for range n {
			ids = append(ids, submit(t, from, "share", `{}`).ID)
		}
		for _, id := range ids {
			j := waitFor(t, a, id, "final", final)
			if j.State != jobs.Succeeded {
				t.Errorf("job %s = %s %q, want succeeded", id, j.State, j.Error)
			}
			if got, err := b.Get(context.Background(), id); err != nil || got.State != jobs.Succeeded {
				t.Errorf("client b sees job %s as %s, %v; want succeeded", id, got.State, err)
			}
			mu.Lock()
			if runs[id] != 1 {
				t.Errorf("job %s ran %d times, want 1", id, runs[id])
			}
			mu.Unlock()
		}
	}
	check(a, 6)
	srvs[2].Shutdown() // the second worker's node: it reconnects to another
	check(b, 4)
}
