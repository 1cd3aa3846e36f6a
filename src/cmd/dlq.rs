//! `irisctl dlq list --env ENV` and `irisctl dlq redrive --env ENV (--all | ID)`: what
//! failed asynchronously (batch files Lambda gave up on after two retries) and why, and
//! sending it again once fixed. A message is deleted only after the function has
//! processed its event successfully.

use std::collections::BTreeMap;

use anyhow::bail;
use serde_json::json;

use super::args::{EnvArgs, OutputFormat};
use super::session::{self, Session};
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::aws::s3::Bucket;
use crate::aws::sqs::{Message, Queue};
use crate::batch::resources::{self, Resources};
use crate::dlq::{self, Failed};
use crate::exit::Status;

/// Messages are hidden from other readers this long while a command works on them (a
/// redrive waits for the function, at most its timeout); each is given back at the end
/// unless deleted.
const HIDE_S: i32 = 120;
/// At most this many messages per run.
const MAX_MESSAGES: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the failed asynchronous invocations in the env's dead-letter queue, with why.
    #[command(after_help = "Examples:
  irisctl dlq list --env local
  irisctl dlq list --env dev --output json | jq '.[].error_message'")]
    List(ListArgs),
    /// Send failed events to the function again (after fixing the file); delete each once it succeeds.
    #[command(after_help = "Examples:
  irisctl dlq redrive --env local --all
  irisctl dlq redrive --env dev 0b9c1f2e-6b8a-4a55-9d1e-1f6f3c7a2d10")]
    Redrive(RedriveArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub target: EnvArgs,
    #[command(flatten)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["all", "id"]))]
pub struct RedriveArgs {
    #[command(flatten)]
    pub target: EnvArgs,
    /// Redrive every message in the queue.
    #[arg(long)]
    pub all: bool,
    /// Redrive only the message with this id (as `dlq list` shows it).
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    #[command(flatten)]
    pub output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let rt = session::runtime()?;
    match args.command {
        Command::List(a) => rt.block_on(list(a)),
        Command::Redrive(a) => rt.block_on(redrive(a)),
    }
}

async fn open(target: &EnvArgs) -> anyhow::Result<(Session, Resources, Queue)> {
    let session = Session::open(target).await?;
    let cfn = Cfn::new(aws::cloudformation(&session.sdk));
    let found = resources::find(&cfn, &session.config).await?;
    let queue = Queue::new(aws::sqs(&session.sdk), found.dead_letter_queue_url.clone());
    Ok((session, found, queue))
}

/// Every message in the queue (up to [`MAX_MESSAGES`]), each received once and hidden
/// meanwhile; the caller gives back those it keeps.
async fn receive_all(queue: &Queue) -> anyhow::Result<Vec<Message>> {
    let mut seen: BTreeMap<String, Message> = BTreeMap::new();
    while seen.len() < MAX_MESSAGES {
        let page = queue.receive(HIDE_S).await?;
        if page.is_empty() {
            break;
        }
        for m in page {
            seen.entry(m.id.clone()).or_insert(m);
        }
    }
    Ok(seen.into_values().collect())
}

async fn give_back(queue: &Queue, messages: &[Message]) {
    for m in messages {
        if let Err(err) = queue.give_back(&m.receipt_handle).await {
            eprintln!(
                "warning: message {} stays hidden until its {HIDE_S} s timeout ends: {err}",
                m.id
            );
        }
    }
}

async fn list(args: ListArgs) -> anyhow::Result<Status> {
    let (session, _, queue) = open(&args.target).await?;
    let messages = receive_all(&queue).await?;
    give_back(&queue, &messages).await;
    let failed: Vec<Failed> = messages.iter().map(Failed::from_message).collect();
    if args.output.is_json() {
        let list: Vec<_> = failed.iter().map(Failed::to_json).collect();
        println!("{}", serde_json::Value::Array(list));
    } else if failed.is_empty() {
        println!(
            "the dead-letter queue of env `{}` is empty",
            session.config.env
        );
    } else {
        for f in &failed {
            println!("{}", f.text());
        }
        println!(
            "{} failed; after fixing a file, submit it again or `irisctl dlq redrive --env {} --all`",
            failed.len(),
            session.config.env
        );
    }
    Ok(Status::Success)
}

async fn redrive(args: RedriveArgs) -> anyhow::Result<Status> {
    let (session, found, queue) = open(&args.target).await?;
    let lambda = aws::lambda(&session.sdk);
    let s3 = aws::s3(&session.sdk);
    let messages = receive_all(&queue).await?;
    let (chosen, others): (Vec<Message>, Vec<Message>) = messages
        .into_iter()
        .partition(|m| args.all || args.id.as_deref() == Some(m.id.as_str()));
    give_back(&queue, &others).await;
    if let Some(id) = &args.id
        && chosen.is_empty()
    {
        bail!(
            "no message {id} in the dead-letter queue of env `{}` (`irisctl dlq list --env {}` shows them)",
            session.config.env,
            session.config.env
        );
    }
    let mut results = Vec::new();
    let mut failures = 0;
    for m in &chosen {
        let failed = Failed::from_message(m);
        let outcome = redrive_one(&s3, &lambda, &found.function, m, &failed).await;
        match &outcome {
            Ok(()) => {
                queue.delete(&m.receipt_handle).await?;
            }
            Err(_) => {
                failures += 1;
                give_back(&queue, std::slice::from_ref(m)).await;
            }
        }
        if !args.output.is_json() {
            match &outcome {
                Ok(()) => println!("{}  redriven, removed from the queue", m.id),
                Err(why) => println!("{}  still failing, kept in the queue: {why}", m.id),
            }
        }
        results.push(json!({
            "message_id": m.id,
            "object": failed.to_json()["object"],
            "redriven": outcome.is_ok(),
            "error": outcome.err(),
        }));
    }
    if args.output.is_json() {
        println!("{}", serde_json::Value::Array(results));
    } else if chosen.is_empty() {
        println!(
            "the dead-letter queue of env `{}` is empty",
            session.config.env
        );
    }
    if failures > 0 {
        bail!(
            "{failures} of {} messages still fail; fix the files (`irisctl dlq list --env {}` says why) and redrive again",
            chosen.len(),
            session.config.env
        );
    }
    Ok(Status::Success)
}

/// Sends one message's event to the function synchronously, pointed at the file's
/// current version; `Err` says why it still fails.
async fn redrive_one(
    s3: &aws_sdk_s3::Client,
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    message: &Message,
    failed: &Failed,
) -> Result<(), String> {
    let latest = match &failed.object {
        Some(object) => {
            let bucket = Bucket::new(s3.clone(), object.bucket.clone());
            match bucket.head(&object.key).await {
                Ok(Some(info)) => Some((Some(info.version_id).filter(|v| !v.is_empty()), None)),
                Ok(None) => {
                    return Err(format!(
                        "s3://{}/{} no longer exists; submit the file again, which scores it anew",
                        object.bucket, object.key
                    ));
                }
                Err(err) => return Err(err.to_string()),
            }
        }
        None => None,
    };
    let event = dlq::redrive_event(&message.body, latest)?;
    let invoked = aws::lambda::invoke(lambda, function, None, event.to_string().into_bytes())
        .await
        .map_err(|e| e.to_string())?;
    match invoked.function_error {
        None => Ok(()),
        Some(_) => Err(dlq::invocation_error(&invoked.payload)),
    }
}
