//! Opik agent configuration ("blueprints") and prompt commits, under `/v1/private/`.

use serde_json::{json, Value};

use crate::request::Incoming;
use crate::util;
use crate::wire::{Api, Reply};

const PREFIX: &str = "/v1/private/";
const VALUE_TYPES: [&str; 6] = ["string", "integer", "float", "boolean", "prompt", "prompt_commit"];
const DEFAULT_ENV: &str = "prod";

/// An error answer: status and message.
type Failure = (u16, String);

#[derive(Clone, Debug)]
struct Blueprint {
    id: String,
    name: String,
    description: Value,
    envs: Vec<String>,
    values: Vec<Value>,
    created_at: String,
}

impl Blueprint {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "type": "blueprint",
            "description": self.description,
            "envs": self.envs,
            "created_at": self.created_at,
            "created_by": "admin",
            "last_updated_at": self.created_at,
            "last_updated_by": "admin",
            "values": self.values,
        })
    }
}

#[derive(Clone, Debug)]
struct Project {
    id: String,
    name: String,
    created_at: String,
    blueprints: Vec<Blueprint>,
}

impl Project {
    fn new(name: &str) -> Project {
        Project {
            id: util::uuid_like(&format!("opik-project:{name}")),
            name: name.to_owned(),
            created_at: util::iso_now(),
            blueprints: Vec::new(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": null,
            "visibility": "private",
            "created_at": self.created_at,
            "created_by": "admin",
            "last_updated_at": self.created_at,
            "last_updated_by": "admin",
        })
    }

    fn by_env(&self, env: &str) -> Option<&Blueprint> {
        self.blueprints.iter().find(|b| b.envs.iter().any(|e| e == env))
    }

    fn by_name(&self, name: &str) -> Option<&Blueprint> {
        self.blueprints.iter().find(|b| b.name == name)
    }

    /// Moves `env` to the blueprint `id`.
    fn tag(&mut self, env: &str, id: &str) -> Result<(), Failure> {
        if !self.blueprints.iter().any(|b| b.id == id) {
            return Err((404, format!("Blueprint not found: '{id}'")));
        }
        for blueprint in &mut self.blueprints {
            blueprint.envs.retain(|e| e != env);
            if blueprint.id == id {
                blueprint.envs.push(env.to_owned());
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
struct PromptCommit {
    commit: String,
    name: String,
    template: String,
    created_at: String,
}

impl PromptCommit {
    fn to_json(&self) -> Value {
        json!({
            "id": util::uuid_like(&format!("opik-prompt-version:{}", self.commit)),
            "prompt_id": util::uuid_like(&format!("opik-prompt:{}", self.name)),
            "commit": self.commit,
            "template": self.template,
            "type": "mustache",
            "metadata": null,
            "change_description": null,
            "tags": [],
            "created_at": self.created_at,
            "created_by": "admin",
            "name": self.name,
        })
    }
}

/// A new blueprint version to add: what the create/update APIs and the control call carry.
struct NewVersion {
    id: Option<String>,
    description: Value,
    values: Vec<Value>,
    envs: Vec<String>,
}

/// The Opik workspace: auth, projects with their blueprints, prompt commits.
#[derive(Default)]
pub(crate) struct OpikStore {
    api_key: Option<String>,
    workspace: Option<String>,
    projects: Vec<Project>,
    prompts: Vec<PromptCommit>,
    created: u64,
}

impl OpikStore {
    /// Loads the fixture's `opik` section: `{"api_key","workspace","projects":[...],"prompts":[...]}`.
    pub fn from_fixture(section: Option<&Value>) -> Result<OpikStore, String> {
        let none = Value::Null;
        let section = section.unwrap_or(&none);
        let mut store = OpikStore {
            api_key: util::str_field(section, "api_key").map(str::to_owned),
            workspace: util::str_field(section, "workspace").map(str::to_owned),
            ..OpikStore::default()
        };
        for project in list(section, "projects")? {
            store.load_project(project).map_err(|e| format!("fixture opik project: {e}"))?;
        }
        for prompt in list(section, "prompts")? {
            store.prompts.push(PromptCommit {
                commit: util::required_str(prompt, "commit")?.to_owned(),
                name: util::required_str(prompt, "name")?.to_owned(),
                template: util::required_str(prompt, "template")?.to_owned(),
                created_at: util::iso_now(),
            });
        }
        Ok(store)
    }

    fn load_project(&mut self, fixture: &Value) -> Result<(), String> {
        let mut project = Project::new(util::required_str(fixture, "name")?);
        for (i, item) in list(fixture, "blueprints")?.iter().enumerate() {
            let name = util::str_field(item, "name").map_or_else(|| format!("v{}", i + 1), str::to_owned);
            let id = util::str_field(item, "id")
                .map_or_else(|| util::uuid_like(&format!("opik:{}:{name}", project.name)), str::to_owned);
            project.blueprints.push(Blueprint {
                id: id.clone(),
                name,
                description: item.get("description").cloned().unwrap_or(Value::Null),
                envs: Vec::new(),
                values: parse_values(item.get("values"))?,
                created_at: util::iso_now(),
            });
            for env in util::str_list(item, "envs")? {
                project.tag(&env, &id).map_err(|(_, m)| m)?;
            }
        }
        self.projects.push(project);
        Ok(())
    }

    /// Adds a version to `project` (created if unknown) and moves `envs` (default `prod`) to it:
    /// the control call `POST /_sim/opik/blueprints`. Returns the new blueprint.
    pub fn publish(&mut self, body: &Value) -> Result<Value, String> {
        let project = util::required_str(body, "project")?.to_owned();
        let envs = match body.get("envs") {
            None | Some(Value::Null) => vec![DEFAULT_ENV.to_owned()],
            Some(_) => util::str_list(body, "envs")?,
        };
        let version = NewVersion {
            id: util::str_field(body, "id").map(str::to_owned),
            description: body.get("description").cloned().unwrap_or(Value::Null),
            values: parse_values(body.get("values"))?,
            envs,
        };
        let index = self.project_index_or_create(&project);
        self.add_version(index, version).map_err(|(_, m)| m)
    }

    /// Answers a data request under `/v1/private/`.
    pub fn handle(&mut self, request: &Incoming) -> Reply {
        if !self.authorized(request) {
            return Reply::error(Api::Opik, 401, "User not allowed to access workspace");
        }
        let rest = request.path.strip_prefix(PREFIX).unwrap_or_default();
        let segments: Vec<String> = rest.split('/').map(util::decode).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let answer = match (request.method.as_str(), segments.as_slice()) {
            ("POST", ["projects", "retrieve"]) => self.retrieve_project(request),
            ("GET", ["agent-configs", "blueprints", "environments", env, "projects", project]) => {
                self.read(project, |p| p.by_env(env), || format!("No blueprint for env '{env}'"))
            }
            ("GET", ["agent-configs", "blueprints", "latest", "projects", project]) => {
                self.read(project, |p| p.blueprints.last(), || "No blueprint in project".into())
            }
            ("GET", ["agent-configs", "blueprints", "projects", project, "names", name]) => {
                self.read(project, |p| p.by_name(name), || format!("Blueprint not found: '{name}'"))
            }
            ("GET", ["agent-configs", "blueprints", id]) => self.blueprint_by_id(id),
            ("POST", ["agent-configs", "blueprints"]) => self.write_version(request, true),
            ("PATCH", ["agent-configs", "blueprints"]) => self.write_version(request, false),
            ("POST", ["agent-configs", "blueprints", "environments"]) => self.tag_envs(request),
            ("GET", ["prompts", "by-commit", commit]) => self.prompt_by_commit(commit),
            _ => Err((404, format!("HTTP 404 Not Found: {} {}", request.method, request.path))),
        };
        answer.unwrap_or_else(|(status, message)| Reply::error(Api::Opik, status, &message))
    }

    fn authorized(&self, request: &Incoming) -> bool {
        let Some(key) = &self.api_key else { return true };
        request.header("authorization") == Some(key)
            && (self.workspace.is_none() || request.header("comet-workspace") == self.workspace.as_deref())
    }

    fn project(&self, id: &str) -> Result<&Project, Failure> {
        self.projects.iter().find(|p| p.id == id).ok_or_else(|| (404, "Project not found".to_owned()))
    }

    fn project_index_or_create(&mut self, name: &str) -> usize {
        if let Some(i) = self.projects.iter().position(|p| p.name == name) {
            return i;
        }
        self.projects.push(Project::new(name));
        self.projects.len() - 1
    }

    fn retrieve_project(&self, request: &Incoming) -> Result<Reply, Failure> {
        let body = request.json().map_err(|e| (400, e))?;
        let name = util::required_str(&body, "name").map_err(|e| (422, e))?;
        let project = self.projects.iter().find(|p| p.name == name);
        project.map(|p| Reply::json(200, &p.to_json())).ok_or_else(|| (404, "Project not found".to_owned()))
    }

    fn read(
        &self,
        project_id: &str,
        pick: impl Fn(&Project) -> Option<&Blueprint>,
        missing: impl Fn() -> String,
    ) -> Result<Reply, Failure> {
        let project = self.project(project_id)?;
        pick(project).map(|b| Reply::json(200, &b.to_json())).ok_or_else(|| (404, missing()))
    }

    fn blueprint_by_id(&self, id: &str) -> Result<Reply, Failure> {
        let found = self.projects.iter().flat_map(|p| &p.blueprints).find(|b| b.id == id);
        found
            .map(|b| Reply::json(200, &b.to_json()))
            .ok_or_else(|| (404, format!("Blueprint not found: '{id}'")))
    }

    fn prompt_by_commit(&self, commit: &str) -> Result<Reply, Failure> {
        let found = self.prompts.iter().find(|p| p.commit == commit);
        found
            .map(|p| Reply::json(200, &p.to_json()))
            .ok_or_else(|| (404, format!("Prompt version not found: '{commit}'")))
    }

    /// `POST` (create the first version: 409 when one exists, tags `prod` unless `envs` says
    /// otherwise) or `PATCH` (add a version: tags only the given `envs`) `agent-configs/blueprints`.
    fn write_version(&mut self, request: &Incoming, create: bool) -> Result<Reply, Failure> {
        let body = request.json().map_err(|e| (400, e))?;
        let blueprint =
            body.get("blueprint").filter(|b| b.is_object()).ok_or((422, "'blueprint' is required".into()))?;
        let index = match (util::str_field(&body, "project_id"), util::str_field(&body, "project_name")) {
            (Some(id), _) => {
                self.projects.iter().position(|p| p.id == id).ok_or((404, "Project not found".into()))?
            }
            (None, Some(name)) => self.project_index_or_create(name),
            (None, None) => return Err((422, "'project_name' or 'project_id' is required".into())),
        };
        let project = &self.projects[index];
        if create && !project.blueprints.is_empty() {
            return Err((409, format!("Agent config already exists for project '{}'", project.name)));
        }
        let envs = match body.get("envs").or_else(|| blueprint.get("envs")) {
            Some(v) if !v.is_null() => util::str_list(&json!({ "envs": v }), "envs").map_err(|e| (422, e))?,
            _ if create => vec![DEFAULT_ENV.to_owned()],
            _ => Vec::new(),
        };
        let version = NewVersion {
            id: util::str_field(blueprint, "id").map(str::to_owned),
            description: blueprint.get("description").cloned().unwrap_or(Value::Null),
            values: parse_values(blueprint.get("values")).map_err(|e| (422, e))?,
            envs,
        };
        let created = self.add_version(index, version)?;
        let id = created["id"].as_str().unwrap_or_default();
        Ok(Reply::empty(201).with_header("Location", format!("{PREFIX}agent-configs/blueprints/{id}")))
    }

    fn add_version(&mut self, index: usize, version: NewVersion) -> Result<Value, Failure> {
        if let Some(id) = &version.id {
            if self.projects.iter().flat_map(|p| &p.blueprints).any(|b| &b.id == id) {
                return Err((409, format!("Blueprint already exists: '{id}'")));
            }
        }
        self.created += 1;
        let project = &mut self.projects[index];
        let name = format!("v{}", project.blueprints.len() + 1);
        let created_at = util::iso_now();
        let id = version.id.unwrap_or_else(|| {
            util::uuid_like(&format!("opik:{}:{name}:{created_at}:{}", project.name, self.created))
        });
        project.blueprints.push(Blueprint {
            id: id.clone(),
            name,
            description: version.description,
            envs: Vec::new(),
            values: version.values,
            created_at,
        });
        for env in &version.envs {
            project.tag(env, &id)?;
        }
        Ok(project.blueprints.last().map(Blueprint::to_json).unwrap_or_default())
    }

    /// `POST agent-configs/blueprints/environments` `{"project_id","envs":[{"env_name","blueprint_id"}]}`.
    fn tag_envs(&mut self, request: &Incoming) -> Result<Reply, Failure> {
        let body = request.json().map_err(|e| (400, e))?;
        let project_id = util::required_str(&body, "project_id").map_err(|e| (422, e))?;
        let project =
            self.projects.iter_mut().find(|p| p.id == project_id).ok_or((404, "Project not found".into()))?;
        let envs =
            body.get("envs").and_then(Value::as_array).ok_or((422, "'envs' must be a list".to_owned()))?;
        for env in envs {
            let name = util::required_str(env, "env_name").map_err(|e| (422, e))?;
            let id = util::required_str(env, "blueprint_id").map_err(|e| (422, e))?;
            project.tag(name, id)?;
        }
        Ok(Reply::empty(204))
    }

    pub fn to_json(&self) -> Value {
        let projects: Vec<Value> = self
            .projects
            .iter()
            .map(|p| {
                let mut project = p.to_json();
                project["blueprints"] = p.blueprints.iter().map(Blueprint::to_json).collect();
                project
            })
            .collect();
        json!({"projects": projects, "prompts": self.prompts.iter().map(PromptCommit::to_json).collect::<Vec<_>>()})
    }
}

fn list<'a>(v: &'a Value, name: &str) -> Result<&'a [Value], String> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("'{name}' must be a list")),
    }
}

/// Checks blueprint values; every value travels as a string (numbers and booleans are converted).
fn parse_values(values: Option<&Value>) -> Result<Vec<Value>, String> {
    let items = match values {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("'values' must be a list".into()),
    };
    items.iter().map(parse_value).collect()
}

fn parse_value(item: &Value) -> Result<Value, String> {
    let key = util::required_str(item, "key")?;
    let kind = util::required_str(item, "type")?;
    if !VALUE_TYPES.contains(&kind) {
        return Err(format!("value '{key}' has unknown type '{kind}'"));
    }
    let value = match item.get("value") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Value::String(v.to_string()),
        Some(_) => return Err(format!("value '{key}' must be a string")),
    };
    Ok(
        json!({"key": key, "value": value, "type": kind, "description": item.get("description").cloned().unwrap_or(Value::Null)}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> OpikStore {
        OpikStore::from_fixture(Some(&json!({"projects": [
            {"name": "a", "blueprints": [{"envs": ["prod"], "values": [{"key": "n", "value": 3, "type": "integer"}]}]},
        ]})))
        .unwrap()
    }

    #[test]
    fn fixture_ids_are_stable_and_values_are_strings() {
        let (one, two) = (store(), store());
        assert_eq!(one.projects[0].id, two.projects[0].id);
        assert_eq!(one.projects[0].blueprints[0].id, two.projects[0].blueprints[0].id);
        assert_eq!(one.projects[0].blueprints[0].name, "v1");
        assert_eq!(one.projects[0].blueprints[0].values[0]["value"], "3");
    }

    #[test]
    fn publish_adds_a_version_and_moves_envs() {
        let mut store = store();
        let v2 = store.publish(&json!({"project": "a", "values": []})).unwrap();
        assert_eq!(v2["name"], "v2");
        assert_eq!(v2["envs"], json!(["prod"]));
        assert!(store.projects[0].blueprints[0].envs.is_empty());
        let other = store.publish(&json!({"project": "b", "values": [], "envs": []})).unwrap();
        assert_eq!(other["name"], "v1");
        assert_eq!(other["envs"], json!([]));
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse_value(&json!({"key": "k", "type": "weird", "value": "x"})).is_err());
        assert!(parse_value(&json!({"key": "k", "type": "string", "value": {}})).is_err());
    }
}
