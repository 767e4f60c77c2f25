//! The skeleton every tenant entity's API object shares, written once.
//!
//! [`entity_object!`](crate::entity_object) emits the whole `#[Object] impl` of a type
//! that holds `model` (the entity's row) and `access` (the caller's standing): its `id`
//! first, the type's own fields, its list fields, then `version`, `createdAt`,
//! `updatedAt`, `viewerCanUpdate`, `viewerCanDelete` and `history`. The entity's
//! registration (`store::tenancy::TenantOwned`) gives the kind, the id and the
//! organization.
//!
//! ```ignore
//! crate::entity_object! {
//!     Risk, risk,
//!     update: WriteRisks,            // the operation, or `custom` (defined among the fields)
//!     delete: WriteRisks,            // the operation, `false` (never), or `none` (no field)
//!     {
//!         async fn title(&self) -> &str { &self.model.title }
//!     }
//!     lists {
//!         #[list(RISK_CONTROLS)]     // a plain list: at most that many items
//!         async fn controls(&self, ctx: &Context<'_>) -> Result<Vec<Control>> { … }
//!         #[page(first)]             // a connection: `first` items
//!         async fn scopes(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>)
//!             -> Result<ScopeConnection> { … }
//!     }
//! }
//! ```
//!
//! The type's description is the doc comment given to [`entity_type!`](crate::entity_type),
//! or doc lines written here before `$ty` (these win). Doc comments before `update:` /
//! `delete:` are added to the descriptions of those fields. The
//! prices of list fields are named in `lists`, by `#[list(MAX)]` (a constant of
//! `graphql::limits`) and `#[page(first)]`, and not as `#[graphql(complexity = "…")]`: the `child_complexity` that
//! async-graphql binds has the hygiene of the `#[Object]` attribute this macro writes, so
//! only an expression written in the same expansion can name it. The entry rule writes
//! both and hands them down (`$obj`, `$cc`). List fields return `Result<…>`.

#[macro_export]
macro_rules! entity_object {
    // The type's description written here.
    (
        $(#[doc = $td:literal])+
        $ty:ident, $module:ident,
        $(#[$um:meta])* update: $update:tt,
        $(#[$dm:meta])* delete: $delete:tt,
        { $($fields:tt)* }
        $(lists { $($lists:tt)* })?
    ) => {
        $crate::entity_object!(@lists
            [[$(#[doc = $td])+ #[async_graphql::Object]] child_complexity, $ty, $module,
                [$(#[$um])*] $update, [$(#[$dm])*] $delete]
            [$($fields)*]
            $($($lists)*)?
        );
    };
    // The type's description from `entity_type!`.
    (
        $ty:ident, $module:ident,
        $(#[$um:meta])* update: $update:tt,
        $(#[$dm:meta])* delete: $delete:tt,
        { $($fields:tt)* }
        $(lists { $($lists:tt)* })?
    ) => {
        impl async_graphql::Description for $ty {
            fn description() -> &'static str {
                #[allow(unused_imports)]
                use $crate::graphql::object::NoEntityDescription as _;
                // The inherent `entity_description` of `entity_type!` comes first; an empty one
                // stays empty, so that the schema's coverage test names the type.
                <$ty>::entity_description()
            }
        }
        $crate::entity_object!(@lists
            [[#[async_graphql::Object(use_type_description)]] child_complexity, $ty, $module,
                [$(#[$um])*] $update, [$(#[$dm])*] $delete]
            [$($fields)*]
            $($($lists)*)?
        );
    };

    // List fields: their price, then on to the rest.
    (@lists $ctx:tt [$($acc:tt)*]) => {
        $crate::entity_object!(@update $ctx [$($acc)*
            /// Optimistic-lock counter: 1 when created, one more on each update; send it as
            /// `expectedVersion` (a stale one is `CONFLICT`).
            async fn version(&self) -> i32 {
                self.model.version
            }
            /// When the object was created (UTC).
            async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
                self.model.created_at
            }
            /// When the object was last changed (UTC; `createdAt` until its first update).
            async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
                self.model.updated_at
            }
        ]);
    };
    (@lists [$obj:tt $cc:ident, $($ctx:tt)*] [$($acc:tt)*]
        $(#[doc = $d:literal])* #[page($first:ident)] $(# $a:tt)*
        async fn $n:ident $args:tt -> Result<$r:ty> { $($body:tt)* }
        $($rest:tt)*
    ) => {
        $crate::entity_object!(@lists [$obj $cc, $($ctx)*] [$($acc)*
            $(#[doc = $d])*
            #[graphql(complexity = $crate::graphql::limits::page($first) * $cc)]
            $(# $a)*
            async fn $n $args -> async_graphql::Result<$r> { $($body)* }
        ] $($rest)*);
    };
    (@lists [$obj:tt $cc:ident, $($ctx:tt)*] [$($acc:tt)*]
        $(#[doc = $d:literal])* #[list($max:ident)] $(# $a:tt)*
        async fn $n:ident $args:tt -> Result<$r:ty> { $($body:tt)* }
        $($rest:tt)*
    ) => {
        $crate::entity_object!(@lists [$obj $cc, $($ctx)*] [$($acc)*
            $(#[doc = $d])*
            #[graphql(complexity = $crate::graphql::limits::$max * $cc)]
            $(# $a)*
            async fn $n $args -> async_graphql::Result<$r> { $($body)* }
        ] $($rest)*);
    };

    // viewerCanUpdate: from an operation, or `custom` (among the fields).
    (@update [$obj:tt $cc:ident, $ty:ident, $module:ident, [$(#[$um:meta])*] custom, $($del:tt)*]
        [$($acc:tt)*]) => {
        $crate::entity_object!(@delete [$obj $cc, $ty, $module, $($del)*] [$($acc)*]);
    };
    (@update [$obj:tt $cc:ident, $ty:ident, $module:ident, [$(#[$um:meta])*] $op:ident, $($del:tt)*]
        [$($acc:tt)*]) => {
        $crate::entity_object!(@delete [$obj $cc, $ty, $module, $($del)*] [$($acc)*
            #[doc = concat!(
                "Whether the caller may update this object (a role with ",
                stringify!($op),
                ", or a platform admin)."
            )]
            $(#[$um])*
            async fn viewer_can_update(&self) -> bool {
                self.access.allows($crate::auth::Operation::$op)
            }
        ]);
    };

    // viewerCanDelete: from an operation, `false` (never), or `none` (no such field).
    (@delete [$obj:tt $cc:ident, $ty:ident, $module:ident, [$(#[$dm:meta])*] none] [$($acc:tt)*]) => {
        $crate::entity_object!(@emit [$obj $cc, $ty, $module] [$($acc)*]);
    };
    (@delete [$obj:tt $cc:ident, $ty:ident, $module:ident, [] false] [$($acc:tt)*]) => {
        $crate::entity_object!(@emit [$obj $cc, $ty, $module] [$($acc)*
            /// Always false: this object is not deleted through the API.
            async fn viewer_can_delete(&self) -> bool {
                false
            }
        ]);
    };
    (@delete [$obj:tt $cc:ident, $ty:ident, $module:ident, [$(#[$dm:meta])+] false] [$($acc:tt)*]) => {
        $crate::entity_object!(@emit [$obj $cc, $ty, $module] [$($acc)*
            $(#[$dm])*
            async fn viewer_can_delete(&self) -> bool {
                false
            }
        ]);
    };
    (@delete [$obj:tt $cc:ident, $ty:ident, $module:ident, [$(#[$dm:meta])*] $op:ident] [$($acc:tt)*]) => {
        $crate::entity_object!(@emit [$obj $cc, $ty, $module] [$($acc)*
            #[doc = concat!(
                "Whether the caller may delete this object (a role with ",
                stringify!($op),
                ", or a platform admin)."
            )]
            $(#[$dm])*
            async fn viewer_can_delete(&self) -> bool {
                self.access.allows($crate::auth::Operation::$op)
            }
        ]);
    };

    (@emit [[$($obj:tt)*] $cc:ident, $ty:ident, $module:ident] [$($acc:tt)*]) => {
        $($obj)*
        impl $ty {
            /// Global ID: opaque, stable, and what `node(id)` and every `…Id` argument take.
            pub async fn id(&self) -> async_graphql::ID {
                use $crate::store::tenancy::TenantOwned as _;
                type E = $crate::entity::$module::Entity;
                async_graphql::ID($crate::ids::encode(E::KIND, E::id_of(&self.model)))
            }

            $($acc)*

            /// This object's audit trail, newest first (OWNER, MANAGER, AUDITOR; ISO 27001
            /// A.8.15).
            #[graphql(complexity = $crate::graphql::limits::page(first) * $cc)]
            async fn history(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
                #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
                after: Option<String>,
            ) -> async_graphql::Result<$crate::graphql::trail::ChangeConnection> {
                use $crate::store::tenancy::TenantOwned as _;
                type E = $crate::entity::$module::Entity;
                let (org, id) = (E::org_of(&self.model), E::id_of(&self.model));
                $crate::graphql::trail::history(ctx, org, id, first, after).await
            }
        }
    };
}

/// The mutations of one area, written once. Each names its context, the gate and the
/// actor it uses, its input and its payload (declared here: the payload type is this
/// macro's). Two forms:
///
/// * `-> Payload { field: Type } { … }`: the body decodes ids and calls the store; its
///   value is the `Granted` row, which becomes `field` through `Type::new`;
/// * `-> Payload { fields… } => { … }`: the body builds the payload itself.
///
/// A mutation's doc comment is its description; a payload field without one is described
/// as "the `Type` as the mutation left it" (`deleted_id`: "the deleted object's ID").
///
/// ```ignore
/// crate::mutations! {
///     InventoryMutation;
///     update_scope(ctx, gate, actor, input: UpdateScopeInput) -> UpdateScopePayload { scope: Scope } {
///         let id = ids::expect(Kind::Scope, &input.id, "id")?;
///         store::update_scope(gate, actor, id, store::ScopeChanges { … }).await?
///     }
///     delete_scope(ctx, gate, actor, input: DeleteScopeInput) -> DeleteScopePayload { deleted_id: ID } => {
///         …
///         Ok(DeleteScopePayload { deleted_id })
///     }
/// }
/// ```
#[macro_export]
macro_rules! mutations {
    ($mutation:ident; $($items:tt)*) => {
        $crate::mutations!(@item $mutation [] [] $($items)*);
    };

    (@item $mutation:ident [$($structs:tt)*] [$($methods:tt)*]) => {
        $($structs)*

        #[derive(Default)]
        pub struct $mutation;

        #[async_graphql::Object]
        impl $mutation {
            $($methods)*
        }
    };

    // The payload is the one object the store returns.
    (@item $mutation:ident $structs:tt $methods:tt
        $(#[doc = $d:literal])*
        $name:ident($ctx:ident, $gate:ident, $actor:ident, $input:ident: $in:ident)
            -> $payload:ident { $field:ident: $ty:ident } { $($body:tt)* }
        $($rest:tt)*
    ) => {
        $crate::mutations!(@emit $mutation $structs $methods
            [$(#[doc = $d])*]
            $name($ctx, $gate, $actor, $input: $in) -> $payload [
                #[doc = concat!("The ", stringify!($ty), " as the mutation left it.")]
                pub $field: $ty,
            ] {
                let granted = { $($body)* };
                Ok($payload { $field: granted.into_object($ty::new) })
            }
            $($rest)*
        );
    };

    // The body builds the payload.
    (@item $mutation:ident $structs:tt $methods:tt
        $(#[doc = $d:literal])*
        $name:ident($ctx:ident, $gate:ident, $actor:ident, $input:ident: $in:ident)
            -> $payload:ident { $($fields:tt)* } => { $($body:tt)* }
        $($rest:tt)*
    ) => {
        $crate::mutations!(@fields
            [$mutation $structs $methods [$(#[doc = $d])*]
                $name($ctx, $gate, $actor, $input: $in) -> $payload { $($body)* } [$($rest)*]]
            []
            $($fields)*
        );
    };

    // The payload's fields, each with its description: its doc comment, else a default.
    (@fields $k:tt [$($acc:tt)*] $(#[doc = $fd:literal])+ $pf:ident: $pt:ty $(, $($more:tt)*)?) => {
        $crate::mutations!(@fields $k [$($acc)* $(#[doc = $fd])+ pub $pf: $pt,] $($($more)*)?);
    };
    (@fields $k:tt [$($acc:tt)*] deleted_id: $pt:ty $(, $($more:tt)*)?) => {
        $crate::mutations!(@fields $k [$($acc)*
            /// The deleted object's ID.
            pub deleted_id: $pt,
        ] $($($more)*)?);
    };
    (@fields $k:tt [$($acc:tt)*] $pf:ident: $pt:ty $(, $($more:tt)*)?) => {
        $crate::mutations!(@fields $k [$($acc)*
            #[doc = concat!("The ", stringify!($pt), " as the mutation left it.")]
            pub $pf: $pt,
        ] $($($more)*)?);
    };
    (@fields
        [$mutation:ident $structs:tt $methods:tt $doc:tt
            $name:ident($ctx:ident, $gate:ident, $actor:ident, $input:ident: $in:ident) -> $payload:ident
            { $($body:tt)* } [$($rest:tt)*]]
        [$($fields:tt)*]
    ) => {
        $crate::mutations!(@emit $mutation $structs $methods $doc
            $name($ctx, $gate, $actor, $input: $in) -> $payload [$($fields)*] { $($body)* }
            $($rest)*
        );
    };

    // One mutation: its payload type and its resolver.
    (@emit $mutation:ident [$($structs:tt)*] [$($methods:tt)*]
        [$($doc:tt)*]
        $name:ident($ctx:ident, $gate:ident, $actor:ident, $input:ident: $in:ident) -> $payload:ident
            [$($fields:tt)*] { $($body:tt)* }
        $($rest:tt)*
    ) => {
        $crate::mutations!(@item $mutation
            [$($structs)*
                /// What the mutation of the same name returns.
                #[derive(async_graphql::SimpleObject)]
                pub struct $payload {
                    $($fields)*
                }
            ]
            [$($methods)*
                $($doc)*
                async fn $name(
                    &self,
                    $ctx: &async_graphql::Context<'_>,
                    #[graphql(desc = "The mutation's arguments (see the input type's fields).")] $input: $in,
                ) -> async_graphql::Result<$payload> {
                    use $crate::graphql::context::ContextExt as _;
                    let ($gate, $actor) = ($ctx.gate()?, $ctx.actor()?);
                    $($body)*
                }
            ]
            $($rest)*
        );
    };
}

/// What an entity type neither made by `entity_type!` nor given doc lines in
/// `entity_object!` describes itself with: nothing (an inherent `entity_description`
/// takes precedence over this).
pub trait NoEntityDescription {
    fn entity_description() -> &'static str {
        ""
    }
}

impl<T> NoEntityDescription for T {}

/// The API type of a tenant entity: its row (shared, cheap to clone) and the caller's
/// standing in its organization, with `new` (what `Granted::into_object` and `node()`
/// build it with).
#[macro_export]
macro_rules! entity_type {
    (@description) => {
        ""
    };
    (@description $(#[doc = $d:literal])+) => {{
        $(#[doc = $d])+
        #[derive(async_graphql::Description)]
        struct Doc;
        <Doc as async_graphql::Description>::description()
    }};
    ($(#[doc = $d:literal])* $ty:ident, $module:ident) => {
        $(#[doc = $d])*
        #[derive(Clone)]
        pub struct $ty {
            pub model: std::sync::Arc<$crate::entity::$module::Model>,
            pub access: $crate::auth::Access,
        }

        impl $ty {
            /// The doc comment above, as the schema's description of the type.
            #[doc(hidden)]
            pub fn entity_description() -> &'static str {
                $crate::entity_type!(@description $(#[doc = $d])*)
            }

            pub fn new(model: $crate::entity::$module::Model, access: $crate::auth::Access) -> Self {
                Self { model: std::sync::Arc::new(model), access }
            }
        }
    };
}
