package rdap

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The recorded answers of real servers.
func TestParseDomain_recorded(t *testing.T) {
	tests := []struct {
		file string
		want Domain
	}{
		{"domain_verisign-stateofapi.com.json", Domain{
			Name: "stateofapi.com", Statuses: []string{"active"},
			Registered: date("2020-07-24T03:47:53Z"), Expires: date("2025-07-24T03:47:53Z"),
			DatabaseUpdated: date("2021-07-07T09:22:12Z"),
		}},
		{"domain_cznic-example.cz.json", Domain{
			Name: "example.cz", Statuses: []string{"active"},
			Registered: date("2004-08-30T22:55:00+00:00"), Expires: date("2019-08-30T12:00:00+00:00"),
			Transferred: date("2007-01-25T02:05:00+00:00"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDomain(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseDomain_statuses(t *testing.T) {
	tests := []struct {
		name     string
		status   string
		statuses []string
		transfer bool
		server   bool
		pending  bool
	}{
		{"none", `[]`, nil, false, false, false},
		{"active", `["active"]`, []string{"active"}, false, false, false},
		{"registrar lock", `["client transfer prohibited","client update prohibited","client delete prohibited"]`,
			[]string{"client transfer prohibited", "client update prohibited", "client delete prohibited"}, true, false, false},
		{"registry lock", `["server transfer prohibited","server update prohibited"]`,
			[]string{"server transfer prohibited", "server update prohibited"}, true, true, false},
		{"both", `["client transfer prohibited","server transfer prohibited"]`,
			[]string{"client transfer prohibited", "server transfer prohibited"}, true, true, false},
		{"pending transfer", `["pending transfer"]`, []string{"pending transfer"}, false, false, true},
		{"case and spaces", `[" Client  Transfer Prohibited ","ACTIVE"]`, []string{"client transfer prohibited", "active"}, true, false, false},
		{"EPP spelling", `["clientTransferProhibited","serverTransferProhibited","pendingTransfer","ok"]`,
			[]string{"client transfer prohibited", "server transfer prohibited", "pending transfer", "active"}, true, true, true},
		{"duplicates and blanks", `["active","","active","   "]`, []string{"active"}, false, false, false},
		{"update prohibited is no transfer lock", `["client update prohibited"]`, []string{"client update prohibited"}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDomain([]byte(`{"objectClassName":"domain","ldhName":"x.com","status":` + tt.status + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Statuses, tt.statuses) || d.TransferProhibited != tt.transfer ||
				d.ServerTransferProhibited != tt.server || d.PendingTransfer != tt.pending {
				t.Errorf("got %q transfer %v server %v pending %v; want %q %v %v %v", d.Statuses,
					d.TransferProhibited, d.ServerTransferProhibited, d.PendingTransfer, tt.statuses, tt.transfer, tt.server, tt.pending)
			}
			if d.ClientTransferProhibited() != d.Has(StatusClientTransferProhibited) {
				t.Error("ClientTransferProhibited disagrees with Has")
			}
		})
	}
}

func TestParseDomain_events(t *testing.T) {
	d, err := ParseDomain([]byte(`{"objectClassName":"domain","ldhName":"X.COM.","events":[
		{"eventAction":"registration","eventDate":"1995-08-14T04:00:00Z"},
		{"eventAction":"transfer","eventDate":"2019-01-01T00:00:00Z"},
		{"eventAction":"transfer","eventDate":"2021-01-01T00:00:00.5+02:00"},
		{"eventAction":"transfer","eventDate":"2020-01-01T00:00:00Z"},
		{"eventAction":"Last Changed","eventDate":"2024-08-14T07:01:44Z"},
		{"eventAction":"expiration","eventDate":"2025-08-13T04:00:00Z"},
		{"eventAction":"last update of RDAP database","eventDate":"2024-10-01T12:00:00.123Z"},
		{"eventAction":"reregistration","eventDate":"2000-01-01T00:00:00Z"},
		{"eventAction":"registration","eventDate":"yesterday"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Domain{Name: "x.com",
		Registered: date("1995-08-14T04:00:00Z"), Transferred: date("2021-01-01T00:00:00.5+02:00"),
		LastChanged: date("2024-08-14T07:01:44Z"), Expires: date("2025-08-13T04:00:00Z"),
		DatabaseUpdated: date("2024-10-01T12:00:00.123Z")}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
}

func TestParseDomain_malformed(t *testing.T) {
	for _, body := range []string{
		``, `<html><title>502 Bad Gateway</title></html>`, `null`, `[]`, `{}`, `"domain"`,
		`{"objectClassName":"entity","handle":"X"}`,
		`{"errorCode":404,"title":"Not Found"}`,
		`{"objectClassName":"domain","status":"active"}`,
		`{"objectClassName":"domain","events":{"eventAction":"registration"}}`,
		`{"objectClassName":"domain","ldhName":7}`,
	} {
		if _, err := ParseDomain([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err %v, want ErrMalformed", body, err)
		}
	}
}

func TestStatusName(t *testing.T) {
	for in, want := range map[string]string{
		"active": "active", "ok": "active", "OK": "active", "clientHold": "client hold",
		"client transfer prohibited": "client transfer prohibited", "redemptionPeriod": "redemption period",
		"  pending   delete ": "pending delete", "": "", "removed": "removed",
	} {
		if got := StatusName(in); got != want {
			t.Errorf("StatusName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseDomain(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "domain_*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"objectClassName":"domain","status":["clientTransferProhibited"],"events":[{"eventAction":"transfer","eventDate":"2020-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"errorCode":429}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDomain(b)
		if err != nil {
			return
		}
		if d.ServerTransferProhibited && !d.TransferProhibited {
			t.Errorf("server transfer prohibited without TransferProhibited: %+v", d)
		}
		for _, s := range d.Statuses {
			if s == "" || StatusName(s) != s {
				t.Errorf("status %q is not normalised", s)
			}
		}
	})
}
