//! The JSON of a `diagram_1_3` answer, decoded leniently by derived serde types; string values
//! are borrowed from the body where it lets us.
//!
//! Leniency is deliberate: `code` may be 200 or "200", `data` a list or one object, and a value
//! may arrive as a string, a number or null. What the decoder cannot make sense of becomes an
//! explicit variant ([`Scalar::Invalid`], [`RawItem::NotAnObject`]) so that one bad row is
//! rejected and counted while the rest of the report stands.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::{Deserialize, de::Error as _};

/// One JSON value where Wolkvox documents a string.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(untagged)]
pub enum Scalar<'a> {
    /// A string (the documented form).
    Str(#[serde(borrow)] Cow<'a, str>),
    Num(f64),
    /// Absent or null.
    #[default]
    Missing,
    /// A boolean, list or object.
    Invalid(IgnoredAny),
}

impl Scalar<'_> {
    /// The value as text, for messages and codes.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Scalar::Str(s) => Some(Cow::Borrowed(s.as_ref())),
            Scalar::Num(n) => Some(Cow::Owned(n.to_string())),
            Scalar::Missing | Scalar::Invalid(_) => None,
        }
    }
}

/// One row of `data`, each field as it arrived; other fields are ignored.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct RawRow<'a> {
    #[serde(default, borrow)]
    pub rp_id: Scalar<'a>,
    #[serde(default, borrow)]
    pub cod_opc_menu: Scalar<'a>,
    #[serde(default, borrow)]
    pub calls: Scalar<'a>,
    #[serde(default, borrow)]
    pub time: Scalar<'a>,
}

/// An element of `data`: a row, or something that is not an object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum RawItem<'a> {
    /// A list where a row should be. Tried before the row: a derived struct also reads a
    /// list, as its fields in order. The list's elements are skipped, not kept.
    List(Vec<IgnoredAny>),
    /// An object, read as a row.
    Row(#[serde(borrow)] RawRow<'a>),
    /// A string, number or null where a row should be.
    NotAnObject(IgnoredAny),
}

/// `data`: a list of rows, or a single row object as sibling reports send.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Data<'a> {
    Many(#[serde(borrow)] Vec<RawItem<'a>>),
    One(#[serde(borrow)] RawRow<'a>),
}

/// The whole answer, its rows aside. Unknown fields are ignored; a field given twice is an
/// error.
#[derive(Debug, Default, Deserialize)]
pub struct Head<'a> {
    /// 200 or "200" on success.
    #[serde(default, borrow)]
    pub code: Scalar<'a>,
    /// Free text; never parsed for numbers.
    #[serde(default, borrow)]
    pub msg: Scalar<'a>,
    /// Error text, null on success.
    #[serde(default, borrow)]
    pub error: Scalar<'a>,
    /// Whether `data` was present and not null.
    #[serde(skip)]
    pub data: bool,
    /// The elements of `data`, until they are handed on.
    #[serde(default, borrow, rename = "data")]
    items: Option<Data<'a>>,
}

impl<'a> Head<'a> {
    /// Decodes a body, then hands each element of `data` to `sink` in order. On an error, the
    /// sink sees nothing.
    pub fn decode(
        body: &'a [u8],
        mut sink: impl FnMut(RawItem<'a>),
    ) -> Result<Self, serde_json::Error> {
        // A derived struct also reads a list, as its fields in order; the answer is an object.
        if body.trim_ascii_start().first() == Some(&b'[') {
            return Err(serde_json::Error::custom(
                "invalid type: sequence, expected the report's JSON object",
            ));
        }
        let mut head: Head<'a> = serde_json::from_slice(body)?;
        head.data = head.items.is_some();
        match head.items.take() {
            Some(Data::Many(items)) => items.into_iter().for_each(&mut sink),
            Some(Data::One(row)) => sink(RawItem::Row(row)),
            None => {}
        }
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
        assert_eq!(items[0], RawItem::NotAnObject(IgnoredAny));
        assert_eq!(items[1], RawItem::NotAnObject(IgnoredAny));
        assert_eq!(
            items[2],
            RawItem::Row(RawRow {
                rp_id: Scalar::Num(5.0),
                cod_opc_menu: Scalar::Missing,
                calls: Scalar::Invalid(IgnoredAny),
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
                RawItem::NotAnObject(IgnoredAny),
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
