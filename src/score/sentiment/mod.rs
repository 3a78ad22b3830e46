//! Sentiment models behind the `SentimentModel` trait.
