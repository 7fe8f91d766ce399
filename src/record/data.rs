//! `Data`: the bytes of a key, a value or a header's value, as Kafka has them.
//!
//! Kafka stores keys and values as plain bytes and leaves their meaning to the
//! clients' serializers. The model does the same, but most of what it carries
//! is text (the simulator's workloads write UTF-8 only), and traces, snapshots
//! and the book must read as text. So `Data` shows itself as text whenever its
//! bytes are UTF-8, exactly as the `String` it replaced did, and in a form no
//! string can take otherwise:
//!
//! - `Debug`: UTF-8 as a quoted string (`"order-1"`), other bytes as unquoted
//!   hex (`0x00ff`);
//! - `Display`: UTF-8 as it is (`order-1`), other bytes as hex (`0x00ff`);
//! - serde: UTF-8 as a string, other bytes as a one-field map
//!   (`{"hex": "00ff"}`);
//! - `Hash`: UTF-8 hashes as the `str` it is, so a trace hash (which feeds
//!   every message's fields through `Hash`) is the one the `String` gave;
//!   other bytes end with a different marker byte.

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::hash::{Hash, Hasher};

/// A key's, a value's or a header value's bytes.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Data(Vec<u8>);

/// The one field of the map serde writes for bytes that are not UTF-8.
const HEX_FIELD: &str = "hex";

impl Data {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Data(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The bytes as text, if they are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Bytes from lower- or upper-case hex digits, two per byte.
    fn from_hex(text: &str) -> Option<Data> {
        if text.len() % 2 != 0 {
            return None;
        }
        // Digit by digit: `u8::from_str_radix` would also take a sign ("+f").
        let digit = |d: u8| (d as char).to_digit(16);
        let bytes = (text.as_bytes().chunks_exact(2))
            .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
            .collect::<Option<Vec<u8>>>()?;
        Some(Data(bytes))
    }
}

impl From<&str> for Data {
    fn from(text: &str) -> Self {
        Data(text.as_bytes().to_vec())
    }
}

impl From<String> for Data {
    fn from(text: String) -> Self {
        Data(text.into_bytes())
    }
}

impl From<&String> for Data {
    fn from(text: &String) -> Self {
        Data::from(text.as_str())
    }
}

impl From<Vec<u8>> for Data {
    fn from(bytes: Vec<u8>) -> Self {
        Data(bytes)
    }
}

impl From<&[u8]> for Data {
    fn from(bytes: &[u8]) -> Self {
        Data(bytes.to_vec())
    }
}

impl PartialEq<str> for Data {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Data {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(text) => fmt::Debug::fmt(text, f),
            None => write!(f, "0x{}", self.hex()),
        }
    }
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(text) => fmt::Display::fmt(text, f),
            None => write!(f, "0x{}", self.hex()),
        }
    }
}

impl Hash for Data {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self.as_str() {
            // Exactly what `String` fed the hasher (its bytes, then 0xff).
            Some(text) => text.hash(state),
            // 0xff never occurs in UTF-8, 0xfe marks bytes that are not.
            None => {
                state.write(&self.0);
                state.write_u8(0xfe);
            }
        }
    }
}

impl Serialize for Data {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.as_str() {
            Some(text) => serializer.serialize_str(text),
            None => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(HEX_FIELD, &self.hex())?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DataVisitor)
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, or a map {\"hex\": \"…\"} for bytes that are not UTF-8")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Data, E> {
        Ok(Data::from(text))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Data, E> {
        Ok(Data::from(bytes))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
        let (field, hex): (String, String) = map
            .next_entry()?
            .ok_or_else(|| de::Error::missing_field(HEX_FIELD))?;
        if field != HEX_FIELD {
            return Err(de::Error::unknown_field(&field, &[HEX_FIELD]));
        }
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom("bytes as hex take one field, `hex`"));
        }
        Data::from_hex(&hex).ok_or_else(|| de::Error::custom("`hex` takes two hex digits a byte"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_and_hashes_as_the_string_it_was() {
        let data = Data::from("order-1");
        assert_eq!(format!("{data:?}"), format!("{:?}", "order-1"));
        assert_eq!(data.to_string(), "order-1");
        assert_eq!(serde_json::to_string(&data).unwrap(), "\"order-1\"");
        let hash = |h: &dyn Fn(&mut std::collections::hash_map::DefaultHasher)| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            h(&mut hasher);
            hasher.finish()
        };
        assert_eq!(
            hash(&|s| data.hash(s)),
            hash(&|s| String::from("order-1").hash(s))
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_show_as_hex_and_come_back() {
        let data = Data::new(vec![0x00, 0xff, 0x10]);
        assert_eq!(format!("{data:?}"), "0x00ff10");
        assert_eq!(data.to_string(), "0x00ff10");
        let json = serde_json::to_string(&data).unwrap();
        assert_eq!(json, r#"{"hex":"00ff10"}"#);
        assert_eq!(serde_json::from_str::<Data>(&json).unwrap(), data);
        assert!(serde_json::from_str::<Data>(r#"{"hex":"0g"}"#).is_err());
        assert!(serde_json::from_str::<Data>(r#"{"hex":"+f"}"#).is_err());
        assert!(serde_json::from_str::<Data>(r#"{"hex":"abc"}"#).is_err());
        let upper = serde_json::from_str::<Data>(r#"{"hex":"00FF10"}"#).unwrap();
        assert_eq!(upper, data);
        assert!(serde_json::from_str::<Data>(r#"{"b64":"00"}"#).is_err());
    }
}
