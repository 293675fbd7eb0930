//! A reader for the protobuf text format, as far as `projector_config.pbtxt` uses it:
//! `name: value` scalars (strings, numbers, identifiers), `name { ... }` / `name: { ... }` /
//! `name < ... >` messages, repeated fields, `#` comments.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Scalar(String),
    Message(Message),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Message {
    pub fields: Vec<(String, Value)>,
}

impl Message {
    pub fn scalars<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields.iter().filter_map(move |(k, v)| match v {
            Value::Scalar(s) if k == name => Some(s.as_str()),
            _ => None,
        })
    }

    pub fn scalar<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.scalars(name).next()
    }

    pub fn messages<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Message> + 'a {
        self.fields.iter().filter_map(move |(k, v)| match v {
            Value::Message(m) if k == name => Some(m),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
}

type ParseError = (u64, String);

fn tokenize(text: &str) -> Result<Vec<(Token, u64)>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1u64;
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '"' | '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(other) => s.push(other),
                            None => return Err((line, "unterminated string".into())),
                        },
                        Some('\n') | None => return Err((line, "unterminated string".into())),
                        Some(other) => s.push(other),
                    }
                }
                tokens.push((Token::Str(s), line));
            }
            '{' | '}' | '<' | '>' | ':' | ',' | ';' | '[' | ']' => {
                chars.next();
                tokens.push((Token::Punct(c), line));
            }
            _ => {
                let mut word = String::new();
                while let Some(&d) = chars.peek() {
                    if d.is_alphanumeric() || matches!(d, '_' | '.' | '-' | '+') {
                        word.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if word.is_empty() {
                    return Err((line, format!("unexpected character '{c}'")));
                }
                tokens.push((Token::Ident(word), line));
            }
        }
    }
    Ok(tokens)
}

/// Parses a whole document as the fields of one message.
pub(crate) fn parse(text: &str) -> Result<Message, ParseError> {
    let tokens = tokenize(text)?;
    let mut pos = 0;
    let message = parse_fields(&tokens, &mut pos, None)?;
    Ok(message)
}

fn parse_fields(
    tokens: &[(Token, u64)],
    pos: &mut usize,
    close: Option<char>,
) -> Result<Message, ParseError> {
    let mut message = Message::default();
    let last_line = tokens.last().map_or(1, |t| t.1);
    loop {
        let Some((token, line)) = tokens.get(*pos) else {
            return match close {
                None => Ok(message),
                Some(c) => Err((last_line, format!("missing '{c}' at the end"))),
            };
        };
        *pos += 1;
        let name = match token {
            Token::Punct(c) if Some(*c) == close => return Ok(message),
            Token::Punct(',' | ';') => continue,
            Token::Ident(name) => name.clone(),
            other => return Err((*line, format!("expected a field name, found {other:?}"))),
        };
        let mut next = tokens.get(*pos);
        if matches!(next, Some((Token::Punct(':'), _))) {
            *pos += 1;
            next = tokens.get(*pos);
        }
        match next {
            Some((Token::Punct(open @ ('{' | '<')), _)) => {
                *pos += 1;
                let close = if *open == '{' { '}' } else { '>' };
                let inner = parse_fields(tokens, pos, Some(close))?;
                message.fields.push((name, Value::Message(inner)));
            }
            Some((Token::Punct('['), _)) => {
                // A list of scalars: `dims: [28, 28]`.
                *pos += 1;
                loop {
                    match tokens.get(*pos) {
                        Some((Token::Punct(']'), _)) => {
                            *pos += 1;
                            break;
                        }
                        Some((Token::Punct(','), _)) => *pos += 1,
                        Some((Token::Ident(v) | Token::Str(v), _)) => {
                            message
                                .fields
                                .push((name.clone(), Value::Scalar(v.clone())));
                            *pos += 1;
                        }
                        _ => return Err((*line, format!("unterminated list for `{name}`"))),
                    }
                }
            }
            Some((Token::Ident(v) | Token::Str(v), _)) => {
                let mut value = v.clone();
                *pos += 1;
                // Adjacent strings concatenate.
                while let Some((Token::Str(more), _)) = tokens.get(*pos) {
                    value.push_str(more);
                    *pos += 1;
                }
                message.fields.push((name, Value::Scalar(value)));
            }
            _ => return Err((*line, format!("expected a value after `{name}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projector_config() {
        let text = r#"
            # written by TensorBoard
            embeddings {
              tensor_name: "word_embedding:0"
              tensor_path: "tensors.tsv"
              metadata_path: 'meta data.tsv'
              tensor_shape: 10
              tensor_shape: 4
              sprite: {
                image_path: "sprite.png"
                single_image_dim: 28
                single_image_dim: [28]
              }
            }
            embeddings { tensor_path: "other.tsv" }
        "#;
        let m = parse(text).expect("valid");
        let first = m.messages("embeddings").next().expect("one entry");
        assert_eq!(first.scalar("tensor_name"), Some("word_embedding:0"));
        assert_eq!(first.scalar("metadata_path"), Some("meta data.tsv"));
        assert_eq!(
            first.scalars("tensor_shape").collect::<Vec<_>>(),
            vec!["10", "4"]
        );
        let sprite = first.messages("sprite").next().expect("sprite");
        assert_eq!(sprite.scalars("single_image_dim").count(), 2);
        assert_eq!(m.messages("embeddings").count(), 2);
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("embeddings {\n tensor_path: \"x.tsv\"\n").expect_err("unclosed");
        assert!(err.1.contains("missing '}'"), "{err:?}");
        let err = parse("a: 1\nb: \"oops\n").expect_err("unterminated");
        assert_eq!(err.0, 2);
    }
}
