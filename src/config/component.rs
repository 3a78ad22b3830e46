//! The untyped form of a `[[source]]` or `[[sink]]` table as the file holds it. Its own file
//! because both the raw file ([`super::raw`]) and the typed readers ([`super::source`],
//! [`super::sink`]) need it, and the raw file needs the sink module's delivery sections.

use serde::Deserialize;

/// A `[[source]]` or `[[sink]]` table: `id`, `type`, and type-specific keys, which the
/// component's own builder validates. `Debug` shows option *names* only: values may be
/// expanded secrets (routing keys, tokens, webhook URLs).
#[derive(Deserialize, Clone, PartialEq)]
pub struct ComponentConfig {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub options: toml::Table,
}

impl std::fmt::Debug for ComponentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentConfig")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}
