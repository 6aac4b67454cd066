//! The upstream API: the HTTP client ([`client`]), the JSON it answers ([`types`]) and the one
//! function that turns an answer into a [`PollResult`] ([`outcome`]).

pub mod client;
pub mod number;
pub mod outcome;
pub mod types;

pub use client::{Client, HttpClients};
pub use outcome::{Classified, PollCounts, PollResult, TokenInfo, classify};
