//! The JSON of a `diagram_1_3` answer, decoded leniently and without copying strings where the
//! body lets us borrow them.
//!
//! Leniency is deliberate: `code` may be 200 or "200", `data` a list or one object, and a value
//! may arrive as a string, a number or null. What the decoder cannot make sense of becomes an
//! explicit variant ([`Scalar::Invalid`], [`RawItem::NotAnObject`]) so that one bad row is
//! rejected and counted while the rest of the report stands.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One JSON value where Wolkvox documents a string.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Scalar<'a> {
    /// A string (the documented form).
    Str(Cow<'a, str>),
    /// A JSON number.
    Num(f64),
    /// Absent or null.
    #[default]
    Missing,
    /// A boolean, list or object.
    Invalid,
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Missing)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Missing)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Invalid)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Invalid)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Invalid)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl Scalar<'_> {
    /// The value as text, for messages and codes.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Scalar::Str(s) => Some(Cow::Borrowed(s.as_ref())),
            Scalar::Num(n) => Some(Cow::Owned(n.to_string())),
            Scalar::Missing | Scalar::Invalid => None,
        }
    }
}

/// One row of `data`, each field as it arrived.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawRow<'a> {
    /// The routing point.
    pub rp_id: Scalar<'a>,
    /// The menu option.
    pub cod_opc_menu: Scalar<'a>,
    /// Number of calls.
    pub calls: Scalar<'a>,
    /// Time spent.
    pub time: Scalar<'a>,
}

/// Where the elements of `data` go as they are decoded: the report consumes them one at a
/// time, and no list of raw rows is ever held.
pub trait RowSink {
    /// Called once before the first element with the size of the body, which bounds how many
    /// elements it can hold: room can be made for them at once.
    fn reserve(&mut self, _body_len: usize) {}
    /// One element of `data`, in order.
    fn row(&mut self, item: RawItem<'_>);
}

/// Drops every element: for reading an answer's head only.
impl RowSink for () {
    fn row(&mut self, _: RawItem<'_>) {}
}

/// An element of `data`: a row, or something that is not an object.
#[derive(Debug, Clone, PartialEq)]
pub enum RawItem<'a> {
    /// An object, read as a row.
    Row(RawRow<'a>),
    /// A string, number, list or null where a row should be.
    NotAnObject,
}

/// A key of a row object. Keys are matched where they lie in the body: reading them as
/// strings would allocate one String per key and row (serde reads `Cow<str>` owned).
enum RowKey {
    RpId,
    CodOpcMenu,
    Calls,
    Time,
    Other,
}

impl<'de> Deserialize<'de> for RowKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RowKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(match v {
                    "rp_id" => RowKey::RpId,
                    "cod_opc_menu" => RowKey::CodOpcMenu,
                    "calls" => RowKey::Calls,
                    "time" => RowKey::Time,
                    _ => RowKey::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

fn read_row<'de: 'a, 'a, A: MapAccess<'de>>(mut map: A) -> Result<RawRow<'a>, A::Error> {
    let mut row = RawRow::default();
    while let Some(key) = map.next_key::<RowKey>()? {
        match key {
            RowKey::RpId => row.rp_id = map.next_value()?,
            RowKey::CodOpcMenu => row.cod_opc_menu = map.next_value()?,
            RowKey::Calls => row.calls = map.next_value()?,
            RowKey::Time => row.time = map.next_value()?,
            RowKey::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(row)
}

impl<'de: 'a, 'a> Deserialize<'de> for RawItem<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = RawItem<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a row object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                read_row(map).map(RawItem::Row)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawItem::NotAnObject)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Reads `data` (null, a list of rows, or a single row object as sibling reports send), handing each element to the sink as
/// it is decoded: a report of 60,000 rows never exists as a list of raw rows, only as the
/// aggregate the sink builds. The value says whether `data` was there and not null.
struct DataSeed<'s, F>(&'s mut F);

impl<'de, F: FnMut(RawItem<'de>)> DeserializeSeed<'de> for DataSeed<'_, F> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, F: FnMut(RawItem<'de>)> Visitor<'de> for DataSeed<'_, F> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of rows or a single row object")
    }
    fn visit_none<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while let Some(item) = seq.next_element()? {
            (self.0)(item);
        }
        Ok(true)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        (self.0)(RawItem::Row(read_row(map)?));
        Ok(true)
    }
}

/// A key of the envelope (matched in place, like [`RowKey`]).
enum EnvelopeKey {
    Code,
    Msg,
    Error,
    Data,
    Other,
}

impl<'de> Deserialize<'de> for EnvelopeKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EnvelopeKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(match v {
                    "code" => EnvelopeKey::Code,
                    "msg" => EnvelopeKey::Msg,
                    "error" => EnvelopeKey::Error,
                    "data" => EnvelopeKey::Data,
                    _ => EnvelopeKey::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// The whole answer, its rows aside. Unknown fields are ignored; a field given twice is an
/// error, as serde's derived decoders make it.
#[derive(Debug, Default)]
pub struct Head<'a> {
    /// 200 or "200" on success.
    pub code: Scalar<'a>,
    /// Free text; never parsed for numbers.
    pub msg: Scalar<'a>,
    /// Error text, null on success.
    pub error: Scalar<'a>,
    /// Whether `data` was present and not null.
    pub data: bool,
}

/// Decodes the envelope, passing each element of `data` to `sink` as it is read.
struct EnvelopeSeed<'s, F>(&'s mut F);

impl<'de, F: FnMut(RawItem<'de>)> DeserializeSeed<'de> for EnvelopeSeed<'_, F> {
    type Value = Head<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Head<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(RawItem<'de>)> Visitor<'de> for EnvelopeSeed<'_, F> {
    type Value = Head<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the report's JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head<'de>, A::Error> {
        use serde::de::Error;
        let mut head = Head::default();
        let mut seen = [false; 4];
        let mut first = |i: usize, name: &'static str| {
            if std::mem::replace(&mut seen[i], true) {
                Err(A::Error::duplicate_field(name))
            } else {
                Ok(())
            }
        };
        while let Some(key) = map.next_key::<EnvelopeKey>()? {
            match key {
                EnvelopeKey::Code => {
                    first(0, "code")?;
                    head.code = map.next_value()?;
                }
                EnvelopeKey::Msg => {
                    first(1, "msg")?;
                    head.msg = map.next_value()?;
                }
                EnvelopeKey::Error => {
                    first(2, "error")?;
                    head.error = map.next_value()?;
                }
                EnvelopeKey::Data => {
                    first(3, "data")?;
                    head.data = map.next_value_seed(DataSeed(&mut *self.0))?;
                }
                EnvelopeKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(head)
    }
}

impl<'a> Head<'a> {
    /// Decodes a body, handing each element of `data` to `sink` in order. On an error, the
    /// sink has seen the elements before it.
    pub fn decode(
        body: &'a [u8],
        mut sink: impl FnMut(RawItem<'a>),
    ) -> Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let head = EnvelopeSeed(&mut sink).deserialize(&mut de)?;
        de.end()?;
        Ok(head)
    }

    /// The numeric `code`, whether it came as a number or a string.
    pub fn code(&self) -> Option<u16> {
        match &self.code {
            Scalar::Num(n) if n.fract() == 0.0 && (0.0..=999.0).contains(n) => Some(*n as u16),
            Scalar::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head and, when `data` is there and not null, its elements.
    struct Decoded<'a> {
        head: Head<'a>,
        data: Option<Vec<RawItem<'a>>>,
    }

    fn decode(body: &[u8]) -> Result<Decoded<'_>, serde_json::Error> {
        let mut rows = Vec::new();
        let head = Head::decode(body, |item| rows.push(item))?;
        let data = head.data.then_some(rows);
        Ok(Decoded { head, data })
    }

    fn row(rp: &str, opt: &str, calls: &str, time: &str) -> RawItem<'static> {
        RawItem::Row(RawRow {
            rp_id: Scalar::Str(Cow::Owned(rp.into())),
            cod_opc_menu: Scalar::Str(Cow::Owned(opt.into())),
            calls: Scalar::Str(Cow::Owned(calls.into())),
            time: Scalar::Str(Cow::Owned(time.into())),
        })
    }

    #[test]
    fn documented_answer_decodes() {
        let body = br#"{"code": 200, "error": null, "msg": " 1 records were found",
            "data": [{"rp_id": "7", "calls": "12", "time": "3", "cod_opc_menu": "PULSE"}]}"#;
        let env = decode(body).unwrap();
        assert_eq!(env.head.code(), Some(200));
        assert_eq!(env.data.unwrap(), vec![row("7", "PULSE", "12", "3")]);
    }

    #[test]
    fn code_as_string_and_data_as_one_object_are_accepted() {
        let body = br#"{"code": "200", "data": {"rp_id": "7", "calls": "1", "time": "0", "cod_opc_menu": "1", "extra": [1]}}"#;
        let env = decode(body).unwrap();
        assert_eq!(env.head.code(), Some(200));
        assert_eq!(env.data.unwrap(), vec![row("7", "1", "1", "0")]);
    }

    #[test]
    fn odd_elements_and_values_are_kept_as_such() {
        let body = br#"{"code":200,"data":[3, null, {"rp_id": 5, "calls": true, "time": null}]}"#;
        let env = decode(body).unwrap();
        let items = env.data.unwrap();
        assert_eq!(items[0], RawItem::NotAnObject);
        assert_eq!(items[1], RawItem::NotAnObject);
        assert_eq!(
            items[2],
            RawItem::Row(RawRow {
                rp_id: Scalar::Num(5.0),
                cod_opc_menu: Scalar::Missing,
                calls: Scalar::Invalid,
                time: Scalar::Missing,
            })
        );
    }

    #[test]
    fn data_null_missing_or_a_number() {
        assert!(
            decode(br#"{"code":200,"data":null}"#)
                .unwrap()
                .data
                .is_none()
        );
        assert!(decode(br#"{"code":200}"#).unwrap().data.is_none());
        assert!(decode(br#"{"code":200,"data":5}"#).is_err());
        assert!(decode(b"<html>oops</html>").is_err());
        assert!(decode(br#"{"code":200,"data":[{"rp_id":"1""#).is_err());
    }

    #[test]
    fn rows_reach_the_sink_in_order_with_the_head_read_around_them() {
        let body =
            br#"{"data": [{"rp_id": "1", "cod_opc_menu": "PULSE", "calls": "2", "time": "3"},
            7, {"rp_id": "2", "cod_opc_menu": "1", "calls": "4", "time": "5"}],
            "code": "200", "msg": "2 records", "error": null}"#;
        let mut rows = Vec::new();
        let head = Head::decode(body, |item| rows.push(item)).unwrap();
        assert_eq!(
            rows,
            vec![
                row("1", "PULSE", "2", "3"),
                RawItem::NotAnObject,
                row("2", "1", "4", "5")
            ]
        );
        assert_eq!(head.code(), Some(200));
        assert_eq!(head.msg.text().as_deref(), Some("2 records"));
        assert!(head.data);
    }

    #[test]
    fn a_field_twice_or_trailing_bytes_or_a_list_at_the_top_are_errors() {
        let twice = br#"{"code":200,"data":[],"data":[{"rp_id":"1"}]}"#;
        let e = Head::decode(twice, |_| {}).unwrap_err();
        assert!(e.to_string().contains("duplicate field `data`"), "{e}");
        assert!(Head::decode(br#"{"code":200,"code":404,"data":[]}"#, |_| {}).is_err());
        assert!(Head::decode(br#"{"code":200,"data":[]} x"#, |_| {}).is_err());
        assert!(Head::decode(br#"[200, null, null, []]"#, |_| {}).is_err());
        // Absent and null `data` are told apart from an empty list.
        assert!(
            !Head::decode(br#"{"code":200,"data":null}"#, |_| {})
                .unwrap()
                .data
        );
        assert!(
            Head::decode(br#"{"code":200,"data":[]}"#, |_| {})
                .unwrap()
                .data
        );
    }
}
