//! Exact answers, after sockjs-protocol's narrated tests.

use super::*;
use alloc::string::ToString;
use alloc::vec;

/// 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;
const A_YEAR_LATER: &str = "Fri, 01 Jan 2027 00:00:00 GMT";

fn headers(answer: &Answer<'_>) -> Vec<(&'static str, String)> {
    answer
        .headers
        .iter()
        .map(|(n, v)| (*n, String::from_utf8(v.to_vec()).unwrap()))
        .collect()
}

fn h(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(n, v)| (*n, v.to_string())).collect()
}

fn body(answer: &Answer<'_>) -> String {
    match &answer.action {
        Action::Respond(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("not a body: {other:?}"),
    }
}

fn req(method: Method, path: &str) -> Request<'_> {
    Request::new(method, path).now_unix_secs(NOW)
}

#[test]
fn greeting_and_not_found() {
    let e = Endpoint::new();
    for path in ["", "/"] {
        let a = e.answer(&req(Method::Get, path));
        assert_eq!(a.status, 200);
        assert_eq!(
            headers(&a),
            h(&[("content-type", "text/plain; charset=UTF-8")])
        );
        assert_eq!(body(&a), "Welcome to SockJS!\n");
    }
    let a = e.answer(&req(Method::Get, "/a/a"));
    assert_eq!(a.status, 404);
    assert_eq!(body(&a), "404 Error: Page not found\n");
    let a = e.answer(&req(Method::Post, ""));
    assert_eq!(
        (a.status, headers(&a), body(&a)),
        (405, h(&[("allow", "GET")]), String::new())
    );
}

#[test]
fn info() {
    let e = Endpoint::new();
    let a = e.answer(
        &req(Method::Get, "/info")
            .origin(b"test")
            .entropy(4_294_967_295),
    );
    assert_eq!(a.status, 200);
    assert_eq!(
        headers(&a),
        h(&[
            ("access-control-allow-origin", "test"),
            ("access-control-allow-credentials", "true"),
            ("vary", "Origin"),
            ("cache-control", NO_CACHE),
            ("content-type", "application/json; charset=UTF-8"),
        ])
    );
    assert_eq!(
        body(&a),
        r#"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":4294967295}"#
    );
    // disabled_websocket_echo and cookie_needed_echo; no cookie on /info even then.
    let e = Endpoint::new().websocket(false).cookie_needed(true);
    let a = e.answer(&req(Method::Get, "/info").entropy(7));
    assert_eq!(
        body(&a),
        r#"{"websocket":false,"cookie_needed":true,"origins":["*:*"],"entropy":7}"#
    );
    assert!(!headers(&a).iter().any(|(n, _)| *n == "set-cookie"));
    assert_eq!(
        headers(&a)[0],
        ("access-control-allow-origin", "*".to_string())
    );
    // InfoTest.test_options and test_options_null_origin.
    for origin in ["test", "null"] {
        let a = Endpoint::new().answer(&req(Method::Options, "/info").origin(origin.as_bytes()));
        assert_eq!(a.status, 204);
        assert_eq!(body(&a), "");
        assert_eq!(
            headers(&a),
            h(&[
                ("access-control-allow-origin", origin),
                ("access-control-allow-credentials", "true"),
                ("vary", "Origin"),
                ("cache-control", "public, max-age=31536000"),
                ("expires", A_YEAR_LATER),
                ("access-control-allow-methods", "OPTIONS, GET"),
                ("access-control-max-age", "31536000"),
            ])
        );
    }
    let a = e.answer(&req(Method::Post, "/info"));
    assert_eq!(
        (a.status, headers(&a)),
        (405, h(&[("allow", "OPTIONS, GET")]))
    );
}

#[test]
fn iframe() {
    let e = Endpoint::new().sockjs_url("/static/sockjs.js");
    let (page, etag) = e.iframe();
    let (page, etag) = (page.to_string(), etag.to_string());
    assert!(page.contains("<script src=\"/static/sockjs.js\"></script>"));
    for path in ["/iframe.html", "/iframe-0.1.2abc-dirty.2144.html"] {
        let a = e.answer(&req(Method::Get, path));
        assert_eq!(a.status, 200);
        assert_eq!(
            headers(&a),
            h(&[
                ("cache-control", "public, max-age=31536000"),
                ("expires", A_YEAR_LATER),
                ("content-type", "text/html; charset=UTF-8"),
                ("etag", &etag),
            ])
        );
        assert_eq!(body(&a), page);
    }
    let a = e.answer(&req(Method::Get, "/iframe.html").if_none_match(etag.as_bytes()));
    assert_eq!(
        (a.status, headers(&a), body(&a)),
        (304, vec![], String::new())
    );
    let a = e.answer(&req(Method::Get, "/iframe.html").if_none_match(b"\"other\""));
    assert_eq!(a.status, 200);
}

#[test]
fn receiving_transports() {
    let e = Endpoint::new();
    let a = e.answer(&req(Method::Post, "/000/s1/xhr").origin(b"test"));
    assert_eq!(a.status, 200);
    assert_eq!(
        a.action,
        Action::Receive {
            session: "s1",
            framing: Framing::Xhr
        }
    );
    // XhrPolling.test_transport: content type, CORS, not cached.
    assert_eq!(
        headers(&a),
        h(&[
            ("cache-control", NO_CACHE),
            ("access-control-allow-origin", "test"),
            ("access-control-allow-credentials", "true"),
            ("vary", "Origin"),
            ("content-type", "application/javascript; charset=UTF-8"),
        ])
    );
    let a = e.answer(&req(Method::Post, "/000/s1/xhr_streaming"));
    assert_eq!(
        a.action,
        Action::Receive {
            session: "s1",
            framing: Framing::XhrStreaming
        }
    );
    assert_eq!(
        headers(&a)[1],
        ("access-control-allow-origin", "*".to_string())
    );
    assert!(
        !headers(&a)
            .iter()
            .any(|(n, _)| *n == "access-control-allow-credentials")
    );

    let a = e.answer(&req(Method::Get, "/000/s1/eventsource").origin(b"null"));
    assert_eq!(
        a.action,
        Action::Receive {
            session: "s1",
            framing: Framing::EventSource
        }
    );
    assert_eq!(
        headers(&a),
        h(&[
            ("cache-control", NO_CACHE),
            ("access-control-allow-origin", "*"),
            ("vary", "Origin"),
            ("content-type", "text/event-stream"),
        ])
    );

    // HtmlFile.test_transport: `?c=%63allback` is `callback`.
    let a = e.answer(&req(Method::Get, "/000/s1/htmlfile").query("c=%63allback"));
    assert_eq!(
        a.action,
        Action::Receive {
            session: "s1",
            framing: Framing::HtmlFile(Callback::new("callback").unwrap())
        }
    );
    assert_eq!(
        headers(&a),
        h(&[
            ("cache-control", NO_CACHE),
            ("content-type", "text/html; charset=UTF-8")
        ])
    );

    let a = e.answer(&req(Method::Get, "/000/s1/jsonp").query("t=1&callback=x"));
    assert_eq!(
        a.action,
        Action::Receive {
            session: "s1",
            framing: Framing::Jsonp(Callback::new("x").unwrap())
        }
    );
    assert_eq!(
        headers(&a),
        h(&[
            ("cache-control", NO_CACHE),
            ("x-content-type-options", "nosniff"),
            ("content-type", "application/javascript; charset=UTF-8"),
        ])
    );
}

#[test]
fn callbacks() {
    let e = Endpoint::new();
    for path in ["/a/a/htmlfile", "/a/a/jsonp"] {
        // test_no_callback.
        let a = e.answer(&req(Method::Get, path));
        assert_eq!(
            (a.status, body(&a)),
            (500, "\"callback\" parameter required".to_string())
        );
        assert_eq!(headers(&a)[0], ("cache-control", NO_CACHE.to_string()));
        // test_invalid_callback: '%20', '*', 'abc(', 'abc%28'.
        for bad in ["%20", "*", "abc(", "abc%28", "%ff", ""] {
            let query = alloc::format!("c={bad}");
            let a = e.answer(&req(Method::Get, path).query(&query));
            assert_eq!(
                (a.status, body(&a)),
                (500, "invalid \"callback\" parameter".to_string()),
                "{path}?{query}"
            );
        }
    }
}

#[test]
fn sending_transports() {
    let e = Endpoint::new();
    // test_content_types (xhr_send).
    for ct in [
        "text/plain",
        "T",
        "application/json",
        "application/xml",
        "",
        "application/json; charset=utf-8",
        "text/xml; charset=utf-8",
        "text/xml",
    ] {
        let a = e.answer(&req(Method::Post, "/0/s/xhr_send").content_type(ct.as_bytes()));
        assert_eq!(
            a.action,
            Action::Send {
                session: "s",
                payload: Payload::XhrSend
            },
            "{ct}"
        );
    }
    let a = e.answer(&req(Method::Post, "/0/s/xhr_send"));
    assert_eq!(
        a.action,
        Action::Send {
            session: "s",
            payload: Payload::XhrSend
        }
    );
    assert_eq!(
        headers(&a),
        h(&[
            ("cache-control", NO_CACHE),
            ("access-control-allow-origin", "*"),
            ("vary", "Origin"),
        ])
    );
    let a = e.answer(&req(Method::Post, "/0/s/xhr_send").content_type(b"image/png"));
    assert_eq!((a.status, body(&a)), (500, "Payload expected.".to_string()));

    let a = e.answer(
        &req(Method::Post, "/0/s/jsonp_send").content_type(b"application/x-www-form-urlencoded"),
    );
    assert_eq!(
        a.action,
        Action::Send {
            session: "s",
            payload: Payload::JsonpSendForm
        }
    );
    assert_eq!(headers(&a), h(&[("cache-control", NO_CACHE)]));
    let a = e.answer(&req(Method::Post, "/0/s/jsonp_send").content_type(b"text/plain"));
    assert_eq!(
        a.action,
        Action::Send {
            session: "s",
            payload: Payload::JsonpSendText
        }
    );

    assert_eq!(SendReply::Accepted.response(Payload::XhrSend), (204, ""));
    assert_eq!(
        SendReply::Accepted.response(Payload::JsonpSendForm),
        (200, "ok")
    );
    assert_eq!(
        SendReply::UnknownSession.response(Payload::XhrSend),
        (404, "404 Error: Page not found\n")
    );
    assert_eq!(
        SendReply::Invalid(PayloadError::BrokenJson).response(Payload::XhrSend),
        (500, "Broken JSON encoding.")
    );
    assert_eq!(
        SendReply::Invalid(PayloadError::Empty).response(Payload::JsonpSendText),
        (500, "Payload expected.")
    );
    assert_eq!(SendReply::TooLarge.response(Payload::XhrSend).0, 413);
}

#[test]
fn preflights_and_methods() {
    let e = Endpoint::new().cookie_needed(true);
    for t in ["xhr", "xhr_send", "xhr_streaming"] {
        let path = alloc::format!("/abc/abc/{t}");
        let a = e.answer(
            &req(Method::Options, &path)
                .origin(b"test")
                .cors_request_headers(b"a, b, c"),
        );
        assert_eq!((a.status, body(&a)), (204, String::new()));
        assert_eq!(
            headers(&a),
            h(&[
                ("set-cookie", "JSESSIONID=dummy; path=/"),
                ("access-control-allow-origin", "test"),
                ("access-control-allow-credentials", "true"),
                ("vary", "Origin"),
                ("access-control-allow-headers", "a, b, c"),
                ("cache-control", "public, max-age=31536000"),
                ("expires", A_YEAR_LATER),
                ("access-control-allow-methods", "OPTIONS, POST"),
                ("access-control-max-age", "31536000"),
            ])
        );
        // An empty Access-Control-Request-Headers is not echoed (test_request_headers_cors).
        let a = e.answer(
            &req(Method::Options, &path)
                .origin(b"test")
                .cors_request_headers(b""),
        );
        assert!(
            !headers(&a)
                .iter()
                .any(|(n, _)| *n == "access-control-allow-headers")
        );
        let a = e.answer(&req(Method::Get, &path));
        assert_eq!(
            (a.status, headers(&a)),
            (405, h(&[("allow", "OPTIONS, POST")]))
        );
    }
    for (t, allow) in [
        ("eventsource", "GET"),
        ("htmlfile", "GET"),
        ("jsonp", "GET"),
        ("jsonp_send", "POST"),
    ] {
        let path = alloc::format!("/abc/abc/{t}");
        let a = e.answer(&req(Method::Options, &path));
        assert_eq!(
            (a.status, headers(&a)),
            (405, h(&[("allow", allow)])),
            "{t}"
        );
    }
}

#[test]
fn cookies() {
    let e = Endpoint::new().cookie_needed(true);
    let a = e.answer(&req(Method::Post, "/0/s/xhr").jsessionid(b"abcdef"));
    assert_eq!(
        headers(&a)[0],
        ("set-cookie", "JSESSIONID=abcdef; path=/".to_string())
    );
    for (method, t) in [
        (Method::Post, "xhr_streaming"),
        (Method::Get, "eventsource"),
        (Method::Get, "jsonp"),
        (Method::Post, "jsonp_send"),
        (Method::Post, "xhr_send"),
    ] {
        let path = alloc::format!("/0/s/{t}");
        let a = e.answer(&req(method, &path).query("c=cb"));
        assert_eq!(
            headers(&a)[0],
            ("set-cookie", "JSESSIONID=dummy; path=/".to_string()),
            "{t}"
        );
    }
    // Without cookie_needed: never (verify_no_cookie).
    let a = Endpoint::new().answer(&req(Method::Post, "/0/s/xhr"));
    assert!(!headers(&a).iter().any(|(n, _)| *n == "set-cookie"));
}

#[test]
fn websockets() {
    let e = Endpoint::new();
    let a = e.answer(&req(Method::Get, "/0/0/websocket").upgrade(true));
    assert_eq!(a.action, Action::WebSocket { framed: true });
    let a = e.answer(&req(Method::Connect, "/websocket").upgrade(true));
    assert_eq!(a.action, Action::WebSocket { framed: false });
    // WebsocketHttpErrors.
    let a = e.answer(&req(Method::Get, "/0/0/websocket"));
    assert_eq!(
        (a.status, body(&a)),
        (400, "Not a valid websocket request\n".to_string())
    );
    let a = e.answer(&req(Method::Post, "/0/0/websocket").upgrade(true));
    assert_eq!(
        (a.status, headers(&a), body(&a)),
        (405, h(&[("allow", "GET")]), String::new())
    );
    // Switched off: both are 404, and /info says so.
    let e = Endpoint::new().websocket(false);
    for path in ["/websocket", "/0/0/websocket"] {
        assert_eq!(e.answer(&req(Method::Get, path).upgrade(true)).status, 404);
    }
}

#[test]
fn origin_policy() {
    let policy = AllowedOrigins::same_origin()
        .allow("https://app.example")
        .unwrap();
    let e = Endpoint::new().allowed_origins(policy.clone());
    let allowed = |r: Request<'_>| e.answer(&r.host(b"sockjs.example:8080")).status;
    assert_eq!(
        allowed(req(Method::Post, "/0/s/xhr").origin(b"https://app.example")),
        200
    );
    assert_eq!(
        allowed(req(Method::Post, "/0/s/xhr").origin(b"http://sockjs.example:8080")),
        200
    );
    assert_eq!(
        allowed(req(Method::Post, "/0/s/xhr").origin(b"https://evil.example")),
        403
    );
    assert_eq!(
        allowed(req(Method::Post, "/0/s/xhr_send").origin(b"null")),
        403
    );
    assert_eq!(
        allowed(req(Method::Get, "/info").origin(b"https://evil.example")),
        403
    );
    assert_eq!(
        allowed(req(Method::Options, "/info").origin(b"https://evil.example")),
        403
    );
    assert_eq!(
        allowed(
            req(Method::Get, "/0/s/websocket")
                .upgrade(true)
                .origin(b"https://evil.example")
        ),
        403
    );
    // No Origin: a non-browser client, allowed unless the policy requires one.
    assert_eq!(allowed(req(Method::Post, "/0/s/xhr")), 200);
    let strict = Endpoint::new().allowed_origins(policy.require_origin(true));
    assert_eq!(strict.answer(&req(Method::Post, "/0/s/xhr")).status, 403);
    // What an origin check cannot protect is off.
    assert_eq!(allowed(req(Method::Get, "/iframe.html")), 404);
    assert_eq!(allowed(req(Method::Get, "/0/s/jsonp").query("c=x")), 404);
    assert_eq!(allowed(req(Method::Post, "/0/s/jsonp_send")), 404);
    // The greeting has no origin check.
    assert_eq!(
        allowed(req(Method::Get, "/").origin(b"https://evil.example")),
        200
    );
    // AllowedOrigins::any() is the default: nothing refused, nothing off.
    let any = Endpoint::new().allowed_origins(AllowedOrigins::any());
    assert_eq!(any.answer(&req(Method::Get, "/iframe.html")).status, 200);
    assert_eq!(
        any.answer(&req(Method::Post, "/0/s/xhr").origin(b"null"))
            .status,
        200
    );
}
