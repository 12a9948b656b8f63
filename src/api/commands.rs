//! `CommandService`: one RPC per domain decision. Each checks the caller's right and scope,
//! converts the request strictly, and hands it to the ledger; nothing is appended on any
//! error.

use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};

use super::access::{Caller, Right, authorize};
use super::convert;
use super::proto::{self, command_service_server::CommandService};
use super::status;
use crate::domain::{Command, Event};
use crate::log::{Envelope, digest};
use crate::projections::{CommandMeta, Ledger};

/// Serves the commands.
#[derive(Debug, Clone)]
pub struct Commands {
    ledger: Arc<Ledger>,
}

impl Commands {
    /// A service over `ledger`.
    pub fn new(ledger: Arc<Ledger>) -> Self {
        Commands { ledger }
    }

    async fn run(
        &self,
        caller: Caller,
        header: Option<&proto::CommandHeader>,
        request_digest: crate::log::Hash,
        command: Command,
    ) -> Result<Response<proto::CommandReply>, Status> {
        let (command_id, expected) = convert::header(header)?;
        tracing::Span::current().record("command_id", command_id.as_str());
        let meta = CommandMeta {
            command_id,
            actor: caller.name,
            request_digest,
            expected,
        };
        let ledger = Arc::clone(&self.ledger);
        let executed = tokio::task::spawn_blocking(move || ledger.execute(&command, &meta))
            .await
            .map_err(|error| Status::internal(format!("command task failed: {error}")))?
            .map_err(status::from_execute)?;
        let events = executed
            .events
            .iter()
            .map(|(envelope, event)| appended(envelope, event))
            .collect();
        Ok(Response::new(proto::CommandReply {
            replayed: executed.replayed,
            events,
        }))
    }
}

/// The wire form of an appended event: its envelope and its fields as JSON.
pub fn appended(envelope: &Envelope, event: &Event) -> proto::AppendedEvent {
    proto::AppendedEvent {
        position: envelope.position,
        stream_id: envelope.stream_id.clone(),
        stream_version: envelope.stream_version,
        event_type: envelope.event_type.clone(),
        business_date: envelope.business_date.to_string(),
        recorded_at: envelope.recorded_at.to_string(),
        json: serde_json::to_string(event)
            .unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}")),
        hash: hex::encode(envelope.hash),
    }
}

/// The service: per RPC, its request type, the right it needs (an expression that may read
/// the request as `$message`), the scope check, and the conversion. Each RPC authorizes,
/// checks the scope, converts, and runs.
macro_rules! command_service {
    ($($name:ident, $request:ty, |$caller:ident, $message:ident| $right:expr, $scope:expr, $convert:expr;)*) => {
        #[tonic::async_trait]
        impl CommandService for Commands {
            $(
                #[tracing::instrument(skip_all, fields(rpc = stringify!($name), command_id))]
                async fn $name(
                    &self,
                    request: Request<$request>,
                ) -> Result<Response<proto::CommandReply>, Status> {
                    // An allowance's right depends on what it asks; the other RPCs' rights
                    // are fixed and do not read the request (hence the allow).
                    #[allow(unused_variables)]
                    let $message = request.get_ref();
                    let right: Right = $right;
                    let $caller = authorize(&request, right)?;
                    let $message = request.into_inner();
                    $scope?;
                    let command = $convert(&$message)?;
                    // The RPC's name is part of the digest: a command id reused by another RPC
                    // with the same request type is a different request, not a retry.
                    let mut material = stringify!($name).as_bytes().to_vec();
                    material.push(0);
                    material.extend_from_slice(&$message.encode_to_vec());
                    let request_digest = digest(&material);
                    self.run($caller, $message.header.as_ref(), request_digest, command).await
                }
            )*
        }
    };
}

fn unscoped(_caller: &Caller) -> Result<(), Status> {
    Ok(())
}

/// An allowance with an override reason needs the operator's right to override, not the
/// desk's right to pay.
fn allowance_right(message: &proto::PayAllowanceRequest) -> Right {
    if message.override_reason.is_empty() {
        Right::PayAllowance
    } else {
        Right::OverrideSameBirth
    }
}

command_service! {
    register_employer, proto::RegisterEmployerRequest,
        |caller, message| Right::RegisterEmployer, caller.require_employer(&message.employer_id), convert::register_employer;
    enroll, proto::EnrollRequest,
        |caller, message| Right::Enroll, caller.require_employer(&message.employer_id), convert::enroll;
    migrate_enrollments, proto::MigrateEnrollmentsRequest,
        |caller, message| Right::AmendRule, unscoped(&caller), convert::migrate;
    suspend_enrollment, proto::EnrollmentStatusRequest,
        |caller, message| Right::ChangeEnrollmentStatus, unscoped(&caller), convert::suspend;
    resume_enrollment, proto::EnrollmentStatusRequest,
        |caller, message| Right::ChangeEnrollmentStatus, unscoped(&caller), convert::resume;
    terminate_enrollment, proto::EnrollmentStatusRequest,
        |caller, message| Right::ChangeEnrollmentStatus, unscoped(&caller), convert::terminate;
    declare_bases, proto::DeclareBasesRequest,
        |caller, message| Right::DeclareBase, caller.require_employer(&message.employer_id), convert::declare_bases;
    assess_contributions, proto::AssessContributionsRequest,
        |caller, message| Right::Assess, unscoped(&caller), convert::assess;
    collect_contribution, proto::CollectContributionRequest,
        |caller, message| Right::Collect, unscoped(&caller), convert::collect;
    back_pay_contributions, proto::AssessContributionsRequest,
        |caller, message| Right::BackPay, unscoped(&caller), convert::back_pay;
    amend_rule, proto::AmendRuleRequest,
        |caller, message| Right::AmendRule, unscoped(&caller), convert::amend_rule;
    settle_clearance, proto::SettleClearanceRequest,
        |caller, message| Right::SettleClearance, unscoped(&caller), convert::settle_clearance;
    transfer_maternity_balance, proto::TransferMaternityBalanceRequest,
        |caller, message| Right::Transfer, unscoped(&caller), convert::transfer;
    close_maternity_fund, proto::CloseMaternityFundRequest,
        |caller, message| Right::CloseFund, unscoped(&caller), convert::close_fund;
    settle_medical_claim, proto::SettleMedicalClaimRequest,
        |caller, message| Right::MedicalClaim, caller.require_institution(&message.institution), convert::medical_claim;
    pay_allowance, proto::PayAllowanceRequest,
        |caller, message| allowance_right(message), unscoped(&caller), convert::pay_allowance;
}
