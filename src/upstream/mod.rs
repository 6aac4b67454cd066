//! The upstream API: the HTTP client ([`client`]), the JSON it answers ([`types`]) and the one
//! function that turns an answer into a [`PollResult`] ([`outcome`]).

/// An enum whose variants are the values of a label, each written once beside its value: the
/// enum with `ALL` (in label order) and `as_str`, and a count per variant (`$counts`), which
/// the exposition reads in label order.
macro_rules! label_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident, counted by $counts:ident {
            $($(#[$vmeta:meta])* $variant:ident => $label:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in label order.
            pub const ALL: [$name; [$($label),*].len()] = [$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)*
                }
            }
        }

        #[doc = concat!("Counts by [`", stringify!($name), "`].")]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $counts([u64; $name::ALL.len()]);

        impl $counts {
            /// Every value with its count, in label order.
            pub fn iter(&self) -> impl Iterator<Item = ($name, u64)> + '_ {
                $name::ALL.into_iter().map(|v| (v, self[v]))
            }
        }

        impl std::ops::Index<$name> for $counts {
            type Output = u64;

            fn index(&self, v: $name) -> &u64 {
                &self.0[v as usize]
            }
        }

        impl std::ops::IndexMut<$name> for $counts {
            fn index_mut(&mut self, v: $name) -> &mut u64 {
                &mut self.0[v as usize]
            }
        }
    };
}
pub(crate) use label_enum;

pub mod client;
pub mod number;
pub mod outcome;
pub mod types;

pub use client::{Client, HttpClients};
pub use outcome::{Classified, PollCounts, PollResult, TokenInfo, classify};
