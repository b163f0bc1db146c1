# Varnish 7 in front of a group-cache app (docs/edge.md). Needs the xkey vmod (Debian: varnish-modules).
# The app: createCache({ cdnTags: 'Surrogate-Key', edge: { purgers: varnishPurger({ url: 'http://this-varnish' }) } }).
vcl 4.1;

import std;
import xkey;

# The app. Several instances: one Varnish each (the app purges every Varnish), or a director here.
backend default {
    .host = "127.0.0.1";
    .port = "3000";
}

# Who may purge: the app servers.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    # varnishPurger(): PURGE with the tags, space-separated, in xkey-purge (or xkey-softpurge for { soft: true }).
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.xkey-purge) {
            set req.http.x-purged = xkey.purge(req.http.xkey-purge);
        } elsif (req.http.xkey-softpurge) {
            set req.http.x-purged = xkey.softpurge(req.http.xkey-softpurge);
        } else {
            return (synth(400, "PURGE needs an xkey-purge or xkey-softpurge header"));
        }
        return (synth(200, "Purged " + req.http.x-purged));
    }
    # Then the built-in vcl_recv: only GET and HEAD are looked up; Authorization and Cookie pass.
}

sub vcl_backend_fetch {
    # When this Varnish asked the app: the race guard below measures from here.
    set bereq.http.x-edge-fetch-start = std.real(time = now);
}

sub vcl_backend_response {
    # group-cache's tags (cdnTags: 'Surrogate-Key'), where xkey reads them.
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
    # Only what the app offered is kept: Surrogate-Control: max-age=N, fetch-within=M (ms), tags, no cookie.
    if (!beresp.http.xkey || beresp.http.Set-Cookie ||
        beresp.http.Surrogate-Control !~ "(^|,)\s*max-age=[0-9]+" ||
        beresp.http.Surrogate-Control !~ "fetch-within=[0-9]+") {
        set beresp.uncacheable = true;
        set beresp.ttl = 1s;
        return (deliver);
    }
    # The race guard: a response that took longer than fetch-within since this Varnish asked for it may have read
    # its data before an expiry whose purge already ran here (the app purges only once that long has passed since
    # the expiry was recorded): it is delivered, not stored.
    if (std.real(time = now) - std.real(bereq.http.x-edge-fetch-start, 0) >
        std.real(regsub(beresp.http.Surrogate-Control, "^.*fetch-within=([0-9]+).*$", "\1"), 0) / 1000) {
        set beresp.uncacheable = true;
        set beresp.ttl = 1s;
        return (deliver);
    }
    # The edge's lifetime is the app's Surrogate-Control, never the client's Cache-Control (skip the built-in VCL).
    set beresp.ttl = std.duration(regsub(beresp.http.Surrogate-Control, "^(.*,)?\s*max-age=([0-9]+).*$", "\2s"), 0s);
    return (deliver);
}

sub vcl_deliver {
    # Tags and the edge's lifetime are for this Varnish, not for browsers.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    unset resp.http.Surrogate-Control;
    # Whether this answer came from this Varnish, fresh or (soft-purged, in grace) stale; drop it if you would
    # rather not say.
    if (obj.hits > 0 && obj.ttl > 0s) {
        set resp.http.X-Edge = "HIT";
    } elsif (obj.hits > 0) {
        set resp.http.X-Edge = "STALE";
    } else {
        set resp.http.X-Edge = "MISS";
    }
}
