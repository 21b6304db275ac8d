//! Mounting the server in axum 0.8 (feature `axum`).

#[allow(unused_imports)]
use std::{borrow::ToOwned, boxed::Box, format, string::String, string::ToString, vec, vec::Vec};

use axum_core::response::Response;
use rfc6455::io::axum::WebSocketUpgrade;

use super::{SUBPROTOCOLS, StompServer};
use crate::app::Handshake;

impl StompServer {
    /// Answers an axum WebSocket upgrade (rfc6455's [`WebSocketUpgrade`] extractor) with
    /// STOMP's subprotocols and the server's limits, then serves the session. The handler
    /// authenticates the handshake as it likes (a cookie, a token) and passes the result.
    ///
    /// ```no_run
    /// use axum::{Router, routing::any};
    /// use rfc6455::io::axum::WebSocketUpgrade;
    /// use rfc6455_stomp::app::Handshake;
    /// use rfc6455_stomp::tokio::StompServer;
    ///
    /// let stomp = StompServer::builder().build();
    /// let app: Router = Router::new().route(
    ///     "/ws",
    ///     any(move |ws: WebSocketUpgrade| async move { stomp.upgrade(ws, Handshake::anonymous()) }),
    /// );
    /// ```
    pub fn upgrade(&self, ws: WebSocketUpgrade, handshake: Handshake) -> Response {
        let server = self.clone();
        let config = &self.shared.websocket;
        let max = usize::try_from(config.get_max_message_size()).unwrap_or(usize::MAX);
        ws.protocols(SUBPROTOCOLS)
            .config(config.clone())
            .max_message_size(max)
            .on_upgrade(move |socket| async move {
                server.serve(socket.into_inner(), handshake).await;
            })
    }
}
