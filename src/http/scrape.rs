//! The metrics path answered in front of the router. A scrape is the request that comes again
//! and again, so it skips what the router spends on every request (matching the path, boxing
//! the request body, the route future, a header map built and hashed per response, an axum
//! body boxed, Content-Length formatted): GET and HEAD on the telemetry path are answered with
//! header maps built once and the snapshot's bytes as they are. Every other request, and every
//! other method on the telemetry path, goes to the router, which also serves the metrics path
//! the simple way; the test below holds the two to the same answers.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, Response};
use axum::routing::future::RouteFuture;
use http_body::{Frame, SizeHint};

use super::{PartsBody, metrics_headers, metrics_parts, negotiate};
use crate::exposition::Store;
use crate::web::{Auth, unauthorized};

/// The exporter's HTTP service: scrapes answered directly, everything else by the router.
#[derive(Clone)]
pub struct App {
    router: Router,
    scrape: Arc<Scrape>,
}

/// What a scrape needs: the snapshots, the path, the users, and the headers of each answer.
struct Scrape {
    store: Arc<Store>,
    telemetry_path: Box<str>,
    auth: Option<Auth>,
    /// By `2 * openmetrics + gzip`.
    headers: [HeaderMap; 4],
}

impl App {
    /// `router` with scrapes of `telemetry_path` answered in front of it from `store`, for the
    /// users of `auth`: the same store, path and users that `router` was built with.
    pub fn new(router: Router, store: Arc<Store>, telemetry_path: &str, auth: Option<Auth>) -> App {
        let headers = [(false, false), (false, true), (true, false), (true, true)]
            .map(|(openmetrics, gzip)| metrics_headers(openmetrics, gzip));
        App {
            router,
            scrape: Arc::new(Scrape {
                store,
                telemetry_path: telemetry_path.into(),
                auth,
                headers,
            }),
        }
    }
}

impl Scrape {
    fn respond(&self, request: &HeaderMap) -> Response<ResponseBody> {
        let (openmetrics, gzip) = negotiate(request);
        let snapshot = self.store.current();
        let parts = metrics_parts(&snapshot, openmetrics, gzip);
        let mut response = Response::new(ResponseBody::Snapshot(PartsBody::new(parts)));
        // The length is the body's exact size, which hyper writes after these headers, where
        // the router's Content-Length goes too. For HEAD, hyper sends that length and not the
        // body.
        *response.headers_mut() =
            self.headers[2 * usize::from(openmetrics) + usize::from(gzip)].clone();
        response
    }
}

impl<B> tower::Service<Request<B>> for App
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Answer {
        let scrape = matches!(*request.method(), Method::GET | Method::HEAD)
            && request.uri().path() == &*self.scrape.telemetry_path;
        if !scrape {
            return Answer::Router(self.router.call(request));
        }
        if self.scrape.auth.is_none() {
            return Answer::Ready(Some(self.scrape.respond(request.headers())));
        }
        let scrape = self.scrape.clone();
        let (head, _) = request.into_parts();
        Answer::Auth(Box::pin(async move {
            let permitted = match &scrape.auth {
                Some(auth) => auth.permits(&head.headers).await,
                None => true,
            };
            if permitted {
                scrape.respond(&head.headers)
            } else {
                unauthorized().map(ResponseBody::Router)
            }
        }))
    }
}

/// The future of an [`App`]'s answer.
pub enum Answer {
    /// A scrape, answered at once.
    Ready(Option<Response<ResponseBody>>),
    /// A scrape that waits for the check of its credentials.
    Auth(Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send>>),
    /// Any other request.
    Router(RouteFuture<Infallible>),
}

impl Future for Answer {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            // Polled again only if hyper broke the contract of a future: answer 500 rather
            // than panic.
            Answer::Ready(response) => Poll::Ready(Ok(response.take().unwrap_or_else(|| {
                let mut gone = Response::new(ResponseBody::Router(Body::empty()));
                *gone.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                gone
            }))),
            Answer::Auth(answer) => answer.as_mut().poll(cx).map(Ok),
            Answer::Router(answer) => Pin::new(answer)
                .poll(cx)
                .map(|r| r.map(|response| response.map(ResponseBody::Router))),
        }
    }
}

/// The body of an [`App`]'s answer: the snapshot's parts, or whatever the router answered.
pub enum ResponseBody {
    /// A scrape's body.
    Snapshot(PartsBody),
    /// The router's body.
    Router(Body),
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.get_mut() {
            ResponseBody::Snapshot(parts) => Pin::new(parts)
                .poll_frame(cx)
                .map(|frame| frame.map(|f| f.map_err(|never| match never {}))),
            ResponseBody::Router(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Snapshot(parts) => parts.is_end_stream(),
            ResponseBody::Router(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Snapshot(parts) => parts.size_hint(),
            ResponseBody::Router(body) => body.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{frames, store_with};
    use super::*;
    use axum::http::StatusCode;
    use axum::http::header::{ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_LENGTH};
    use tower::ServiceExt as _;

    /// A response as hyper puts it on the wire: the status, the headers in order with the
    /// Content-Length hyper adds from the body's exact size when there is none, and the body
    /// (none for HEAD).
    async fn on_the_wire<B>(
        response: Response<B>,
        method: &Method,
    ) -> (StatusCode, Vec<(String, String)>, Vec<u8>)
    where
        B: http_body::Body<Data = Bytes, Error: std::fmt::Debug>,
    {
        let status = response.status();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        if !response.headers().contains_key(CONTENT_LENGTH)
            && let Some(length) = response.body().size_hint().exact()
        {
            headers.push((CONTENT_LENGTH.to_string(), length.to_string()));
        }
        let body: Vec<u8> = if method == Method::HEAD {
            Vec::new()
        } else {
            frames(response.into_body()).await.concat()
        };
        (status, headers, body)
    }

    #[tokio::test]
    async fn scrapes_answered_in_front_of_the_router_get_the_routers_answer() {
        let prometheus3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        let accepts = [
            None,
            Some(prometheus3),
            Some("application/openmetrics-text"),
            Some("APPLICATION/OpenMetrics-Text; q=0.7, text/plain; q=0.6"),
            Some("text/plain;q=0.9,application/openmetrics-text;q=0.5"),
            Some("*/*"),
        ];
        let encodings = [
            None,
            Some("gzip"),
            Some("deflate, gzip;q=0.5"),
            Some("gzip;q=0"),
            Some("*"),
            Some("identity"),
        ];
        let users = [("prometheus".to_owned(), bcrypt::hash("s3cret!", 4).unwrap())];
        // prometheus:s3cret!, prometheus:wrong
        let credentials = [
            None,
            Some("Basic cHJvbWV0aGV1czpzM2NyZXQh"),
            Some("Basic cHJvbWV0aGV1czp3cm9uZw=="),
        ];
        // One piece (joined at the poll), and many parts.
        for series in [100, 5_000] {
            let store = store_with(series);
            for auth in [None, Some(Auth::new(users.clone().into()))] {
                let clock = Arc::new(crate::window::SystemClock);
                let router = super::super::router(store.clone(), "/metrics", auth.clone(), clock);
                let app = App::new(router.clone(), store.clone(), "/metrics", auth.clone());
                for method in [Method::GET, Method::HEAD] {
                    for accept in accepts {
                        for encoding in encodings {
                            for authorization in credentials {
                                let request = || {
                                    let mut request = Request::builder()
                                        .method(method.clone())
                                        .uri("/metrics?x=1");
                                    if let Some(accept) = accept {
                                        request = request.header(ACCEPT, accept);
                                    }
                                    if let Some(encoding) = encoding {
                                        request = request.header(ACCEPT_ENCODING, encoding);
                                    }
                                    if let Some(authorization) = authorization {
                                        request = request.header(AUTHORIZATION, authorization);
                                    }
                                    request.body(Body::empty()).unwrap()
                                };
                                let simple = router.clone().oneshot(request()).await.unwrap();
                                let fast = app.clone().oneshot(request()).await.unwrap();
                                let fast_is_snapshot =
                                    matches!(fast.body(), ResponseBody::Snapshot(_));
                                let simple = on_the_wire(simple, &method).await;
                                let fast = on_the_wire(fast, &method).await;
                                let case = format!(
                                    "{series} series, users {}, {method} {accept:?} {encoding:?} {authorization:?}",
                                    auth.is_some()
                                );
                                assert_eq!(fast.0, simple.0, "{case}");
                                assert_eq!(fast.1, simple.1, "{case}");
                                assert!(fast.2 == simple.2, "{case}: bodies differ");
                                // The router was not asked, except for a refusal.
                                assert_eq!(fast_is_snapshot, fast.0 == StatusCode::OK, "{case}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn a_scrape_sends_the_snapshots_own_bytes() {
        let store = store_with(5_000);
        let clock = Arc::new(crate::window::SystemClock);
        let router = super::super::router(store.clone(), "/metrics", None, clock);
        let app = App::new(router, store.clone(), "/metrics", None);
        let snapshot = store.current();
        for (encoding, parts) in [
            ("identity", snapshot.text.plain_parts()),
            ("gzip", snapshot.text.gzip_parts()),
        ] {
            let request = Request::get("/metrics")
                .header(ACCEPT_ENCODING, encoding)
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            let sent: Vec<*const u8> = frames(response.into_body())
                .await
                .iter()
                .map(|b| b.as_ptr())
                .collect();
            let own: Vec<*const u8> = parts.iter().map(|p| p.as_ptr()).collect();
            assert_eq!(sent, own, "{encoding}");
        }
    }

    #[tokio::test]
    async fn other_paths_and_methods_go_to_the_router() {
        let store = store_with(100);
        let clock = Arc::new(crate::window::SystemClock);
        let router = super::super::router(store.clone(), "/metrics", None, clock);
        let app = App::new(router, store, "/metrics", None);
        for (method, path, status) in [
            (Method::POST, "/metrics", StatusCode::METHOD_NOT_ALLOWED),
            (Method::GET, "/metrics/", StatusCode::NOT_FOUND),
            (Method::GET, "/healthz", StatusCode::OK),
            (Method::GET, "/", StatusCode::OK),
        ] {
            let request = Request::builder()
                .method(method.clone())
                .uri(path)
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), status, "{method} {path}");
            assert!(matches!(response.body(), ResponseBody::Router(_)));
        }
    }
}
