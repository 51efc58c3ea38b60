package gpu

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestFakeScriptReplaysThenRepeats(t *testing.T) {
	devs := FakeGPUs(2, "Fake H100", 80)
	f := NewFake(devs,
		[]Sample{{GPUUtilPercent: F64(10)}, {GPUUtilPercent: nil}},
		[]Sample{{GPUUtilPercent: F64(90)}, {Lost: true}},
	)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.SetClock(func() time.Time { return at })
	ctx := context.Background()
	s1, _ := f.Sample(ctx)
	if *s1[0].GPUUtilPercent != 10 || s1[1].GPUUtilPercent != nil || s1[1].UUID != devs[1].UUID || !s1[0].At.Equal(at) {
		t.Errorf("step 1: %+v", s1)
	}
	s2, _ := f.Sample(ctx)
	s3, _ := f.Sample(ctx)
	if *s2[0].GPUUtilPercent != 90 || !s2[1].Lost || *s3[0].GPUUtilPercent != 90 || !s3[1].Lost {
		t.Errorf("steps 2,3: %+v %+v", s2, s3)
	}
	if f.Calls() != 3 {
		t.Errorf("calls %d", f.Calls())
	}
	f.SetUtil(55, 66)
	s4, _ := f.Sample(ctx)
	if *s4[1].GPUUtilPercent != 66 || *s4[1].FBFreeBytes != 80<<30 {
		t.Errorf("SetUtil: %+v", s4[1])
	}
	boom := errors.New("boom")
	f.FailWith(boom)
	if _, err := f.Sample(ctx); !errors.Is(err, boom) {
		t.Errorf("FailWith: %v", err)
	}
	f.Close()
	if _, err := f.Devices(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("closed: %v", err)
	}
}

func TestNullAndFreeBytes(t *testing.T) {
	d, _ := Null{}.Devices(context.Background())
	s, _ := Null{}.Sample(context.Background())
	if len(d) != 0 || len(s) != 0 {
		t.Error("null source has devices")
	}
	dev := FakeGPUs(1, "x", 10)[0]
	if v, ok := FreeBytes(&dev, &Sample{FBUsedBytes: U64(4 << 30)}); !ok || v != 6<<30 {
		t.Errorf("free from used: %d %v", v, ok)
	}
	if _, ok := FreeBytes(&dev, &Sample{Lost: true, FBFreeBytes: U64(1)}); ok {
		t.Error("a lost GPU has no free memory")
	}
	if _, ok := FreeBytes(&dev, &Sample{}); ok {
		t.Error("no memory reading means unknown, not free")
	}
}
