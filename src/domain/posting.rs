//! Double entry. A `Transaction` is a set of postings in one region whose debits equal
//! its credits; it cannot be built (or deserialised) unbalanced.
//!
//! Sign convention: an account's balance is debits − credits. Asset accounts (the fund
//! bank account, contributions receivable) carry debit balances; fund accounts and
//! payables carry credit balances. Income to a fund is a credit, expenditure a debit.

use serde::{Deserialize, Serialize};

use super::ids::RegionId;
use super::money::Yuan;
use super::rejection::Rejection;

/// The accounts of one pooling region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Account {
    /// Cash at the fund's bank account (asset).
    FundBank,
    /// Contributions assessed but not yet collected (asset).
    ContributionReceivable,
    /// Benefits granted but not yet paid out (liability).
    BenefitsPayable,
    /// The BMI pooled fund (统筹基金), its non-maternity part.
    BmiPooledFund,
    /// The maternity sub-line of the BMI pooled fund (生育待遇支出项目 / 生育保险基金收入项目).
    BmiPooledMaternity,
    /// Personal accounts (个人账户).
    PersonalAccounts,
    /// The separate maternity insurance fund, open until the merger closes it.
    MaternityFund,
    /// The large medical expense mutual-aid fund (大额医疗费用互助资金), Beijing.
    MutualAidFund,
}

impl Account {
    /// Every account, for projections that list balances.
    pub const ALL: [Account; 8] = [
        Account::FundBank,
        Account::ContributionReceivable,
        Account::BenefitsPayable,
        Account::BmiPooledFund,
        Account::BmiPooledMaternity,
        Account::PersonalAccounts,
        Account::MaternityFund,
        Account::MutualAidFund,
    ];

    /// A stable name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Account::FundBank => "fund_bank",
            Account::ContributionReceivable => "contribution_receivable",
            Account::BenefitsPayable => "benefits_payable",
            Account::BmiPooledFund => "bmi_pooled_fund",
            Account::BmiPooledMaternity => "bmi_pooled_maternity",
            Account::PersonalAccounts => "personal_accounts",
            Account::MaternityFund => "maternity_fund",
            Account::MutualAidFund => "mutual_aid_fund",
        }
    }
}

/// Debit or credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Side {
    /// Increases an asset, decreases a fund.
    Debit,
    /// Decreases an asset, increases a fund.
    Credit,
}

/// One line of a transaction: a non-negative amount on one side of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// The account moved.
    pub account: Account,
    /// Which side.
    pub side: Side,
    /// The amount, never negative.
    pub amount: Yuan,
}

impl Posting {
    /// The posting's effect on the account balance (debits − credits).
    pub fn signed_amount(&self) -> Yuan {
        match self.side {
            Side::Debit => self.amount,
            Side::Credit => self.amount.negated(),
        }
    }
}

/// The serialised form of a transaction; converted back through the balance check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionParts {
    /// The region whose books move.
    pub region: RegionId,
    /// The postings.
    pub postings: Vec<Posting>,
}

/// A balanced set of postings in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TransactionParts", into = "TransactionParts")]
pub struct Transaction {
    region: RegionId,
    postings: Vec<Posting>,
}

impl Transaction {
    /// Builds a transaction; refuses negative amounts, no postings, and debits ≠ credits.
    /// Zero-amount postings are dropped so that a zero line never shows in the books.
    pub fn new(region: RegionId, postings: Vec<Posting>) -> Result<Transaction, Rejection> {
        if let Some(negative) = postings.iter().find(|posting| posting.amount.is_negative()) {
            return Err(Rejection::NegativePosting {
                account: negative.account.name(),
                amount: negative.amount,
            });
        }
        let postings: Vec<Posting> = postings
            .into_iter()
            .filter(|posting| !posting.amount.is_zero())
            .collect();
        let debits = side_total(&postings, Side::Debit)?;
        let credits = side_total(&postings, Side::Credit)?;
        if debits != credits {
            return Err(Rejection::UnbalancedTransaction { debits, credits });
        }
        if postings.is_empty() {
            return Err(Rejection::EmptyTransaction { region });
        }
        Ok(Transaction { region, postings })
    }

    /// Builds a transaction from signed movements: a positive amount credits the account,
    /// a negative one debits it; `counter` takes the opposite of the net. Used for
    /// differences (补缴 / 退费) whose components may have either sign.
    pub fn from_signed_credits(
        region: RegionId,
        counter: Account,
        credits: &[(Account, Yuan)],
    ) -> Result<Transaction, Rejection> {
        let mut postings = Vec::with_capacity(credits.len() + 1);
        let mut net = Yuan::ZERO;
        for (account, amount) in credits {
            net = net.checked_add(*amount)?;
            postings.push(signed_credit(*account, *amount));
        }
        postings.push(signed_credit(counter, net.negated()));
        Transaction::new(region, postings)
    }

    /// The region whose books move.
    pub fn region(&self) -> &RegionId {
        &self.region
    }

    /// The postings, each non-negative, debits equal to credits.
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// The sum of the debit side (equal to the credit side).
    pub fn total(&self) -> Result<Yuan, Rejection> {
        side_total(&self.postings, Side::Debit)
    }

    /// The net movement of one account in this transaction (debits − credits).
    pub fn net(&self, account: Account) -> Result<Yuan, Rejection> {
        self.postings
            .iter()
            .filter(|posting| posting.account == account)
            .try_fold(Yuan::ZERO, |total, posting| {
                total.checked_add(posting.signed_amount())
            })
    }
}

fn signed_credit(account: Account, amount: Yuan) -> Posting {
    if amount.is_negative() {
        Posting {
            account,
            side: Side::Debit,
            amount: amount.abs(),
        }
    } else {
        Posting {
            account,
            side: Side::Credit,
            amount,
        }
    }
}

fn side_total(postings: &[Posting], side: Side) -> Result<Yuan, Rejection> {
    postings
        .iter()
        .filter(|posting| posting.side == side)
        .try_fold(Yuan::ZERO, |total, posting| {
            total.checked_add(posting.amount)
        })
}

impl TryFrom<TransactionParts> for Transaction {
    type Error = Rejection;

    fn try_from(parts: TransactionParts) -> Result<Self, Self::Error> {
        Transaction::new(parts.region, parts.postings)
    }
}

impl From<Transaction> for TransactionParts {
    fn from(transaction: Transaction) -> Self {
        TransactionParts {
            region: transaction.region,
            postings: transaction.postings,
        }
    }
}

/// A debit posting.
pub fn debit(account: Account, amount: Yuan) -> Posting {
    Posting {
        account,
        side: Side::Debit,
        amount,
    }
}

/// A credit posting.
pub fn credit(account: Account, amount: Yuan) -> Posting {
    Posting {
        account,
        side: Side::Credit,
        amount,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;

    fn yuan(text: &str) -> Yuan {
        Yuan::parse("test", text).unwrap()
    }

    /// An unbalanced set of postings cannot become a transaction.
    #[test]
    fn unbalanced_is_refused() {
        let result = Transaction::new(
            RegionId::new("beijing"),
            vec![
                debit(Account::FundBank, yuan("10.00")),
                credit(Account::BmiPooledFund, yuan("9.99")),
            ],
        );
        assert!(matches!(
            result,
            Err(Rejection::UnbalancedTransaction { .. })
        ));
    }

    /// Deserialising an unbalanced payload fails too: the check is on the only door in.
    #[test]
    fn unbalanced_payload_does_not_deserialise() {
        let parts = TransactionParts {
            region: RegionId::new("beijing"),
            postings: vec![debit(Account::FundBank, yuan("1.00"))],
        };
        let bytes = bincode::serde::encode_to_vec(&parts, bincode::config::standard()).unwrap();
        let decoded: Result<(Transaction, usize), _> =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard());
        assert!(decoded.is_err());
    }

    /// Signed credits: +30 maternity, −10 pooled → receivable debited 20.
    #[test]
    fn signed_credits_balance_through_the_counter_account() {
        let transaction = Transaction::from_signed_credits(
            RegionId::new("gansu-lanzhou"),
            Account::ContributionReceivable,
            &[
                (Account::BmiPooledMaternity, yuan("30.00")),
                (Account::BmiPooledFund, yuan("-10.00")),
            ],
        )
        .unwrap();
        // 30.00 − 10.00 = 20.00 net credit, so the receivable is debited 20.00
        assert_eq!(
            transaction.net(Account::ContributionReceivable).unwrap(),
            yuan("20.00")
        );
        assert_eq!(transaction.total().unwrap(), yuan("30.00")); // debits: 10 + 20 = 30
    }
}
