"""opposite_effect traps: a verb/phrase is replaced by one with the opposite
effect (not necessarily a dictionary antonym). Hand-written, one line per
pair: template | phrase_A | phrase_B [| reworded template used for B]."""
import random
from common import parse_lines, substitution_traps

LEX = r"""
# ---- DevOps / CI / IT
Which services should we {} before Black Friday? | scale out | scale in | What services ought we to {} ahead of Black Friday?
How do I {} the API rate limit for partner keys? | raise | lower
Which background jobs can we {} during peak hours? | speed up | throttle | During peak hours, which background jobs is it ok to {}?
Who can {} admin access to the billing console? | grant | revoke | Who is allowed to {} billing console admin rights?
How do I {} the staging bucket? | open to everyone | lock down | What are the steps to {} the staging bucket?
Steps to {} feature flags for the beta cohort | enable | disable
How many pipelines did we {} last week? | pause | resume
Show me the command to {} the prod database backups | encrypt | decrypt
Which branches should we {} before the audit? | archive | restore
How do I {} a volume on the build server? | attach | detach | Is there a way to {} a volume on the build server?
When should we {} the release train for the holidays? | freeze | unfreeze
How many nodes did the autoscaler {} overnight? | add | remove
Which repos did we {} to the monorepo this quarter? | merge | split out
Can you {} the cache TTL for product pages? | extend | shorten
How do I {} SSH access for the new contractor? | set up | cut off
How many pods were {} by the scheduler yesterday? | started | evicted
Which alerts did the on-call team {} last night? | acknowledge | silence
What happens if I {} the dependency lockfile? | pin | unpin
How do I {} verbose logging on the gateway? | turn on | turn off
Show deployments that were {} in the last 24 hours | rolled out | rolled back | list deploys {} over the past 24 hours
Which IPs should we {} on the firewall? | whitelist | blacklist
How long does it take to {} a replica in us-east? | spin up | tear down
How many tickets did the service desk {} today? | open | close
Which users did IT {} the VPN group? | add to | remove from
Show me servers we plan to {} next month | provision | decommission
How do I {} the retry backoff for failed webhooks? | increase | decrease
Which cron jobs did we {} after the migration? | schedule | unschedule
Who {} the hotfix to production? | pushed | pulled back
How many containers did we {} in the cluster this week? | deploy | retire
How do I {} two-factor login for the shared account? | turn on | switch off
Which certificates should we {} this month? | renew | let expire
Which S3 buckets did we {} versioning on? | enable | suspend
How much can we {} the connection pool on the read replicas? | grow | shrink
Which dashboards did we {} for the whole company? | publish | unpublish
Which modules should we {} the nightly build? | include in | exclude from
How do I {} the mailbox quota for the support team? | bump up | cut back
How do I {} a user's laptop remotely? | lock | unlock
When did we {} the legacy API? | launch | sunset
# ---- HR / payroll
How many people did we {} in Q3? | hire | lay off | What was the number of people we {} during Q3?
Which employees were {} this cycle? | promoted | demoted
Checklist to {} a contractor in Workday | onboard | offboard
How do I {} a leave request as a manager? | approve | reject | As a manager, how can I {} a leave request?
Which teams had salaries {} in the last review? | raised | cut
How many staff {} the pension scheme this year? | joined | left | How many staff {} the pension plan so far this year?
Who can {} overtime for warehouse staff? | authorize | block
How many candidates {} our offers in March? | accepted | declined
How do I {} an employee's direct deposit? | set up | stop
Which benefits can employees {} mid-year? | add | drop
How many shifts did managers {} last week? | add | cancel
Show staff whose hours were {} after the restructure | increased | reduced
How do I {} a bonus payment in payroll? | issue | claw back
Which contractors did we {} this month? | extend | terminate
How many employees {} the union in 2024? | joined | left
What's the process to {} someone's badge access? | activate | deactivate
How many people {} remote work this quarter? | requested | gave up
Which roles are we {} in the new budget? | adding | eliminating
How many interns did we {} to full-time? | convert | let go
Who {} the headcount freeze? | introduced | lifted
How do I {} a pay deduction for a parking permit? | start | stop
# ---- retail / e-commerce
How many customers {} the newsletter last month? | subscribed to | unsubscribed from | How many people {} our newsletter in the previous month?
Which SKUs should we {} in the spring catalog? | add | delist
How many orders did we {} yesterday? | ship | hold back | How many orders were we able to {} yesterday?
How many users {} their plan in Q2? | upgraded | downgraded
Which products did we {} the price on this week? | raise | cut | Show products where we {} the price this week
How do I {} a discount code? | activate | deactivate
Which stores {} the central warehouse? | pulled inventory from | sent inventory back to
How many carts were {} last weekend? | checked out | abandoned
Which items did customers {} their wishlist most often? | add to | remove from
How many sellers did we {} from the marketplace this year? | onboard | ban
How many stores did we {} in 2023? | open | close | In 2023 how many stores did we {}?
Which promotions should we {} for the holiday weekend? | extend | end early
How do I {} free shipping for orders over 50 dollars? | turn on | turn off
Which vendors did we {} as preferred suppliers? | add | drop
How many returns did the warehouse {} this week? | accept | refuse
How many subscriptions were {} after the price change? | renewed | cancelled
Which categories should we {} shelf space for? | expand | shrink
How many gift cards were {} in December? | loaded | redeemed
How many products did we {} stock on this week? | replenish | run down
How do I {} a product listing on Amazon? | publish | hide
Which customers {} loyalty points last month? | earned | spent
What's our plan to {} the assortment in rural stores? | widen | narrow
# ---- banking / finance
How do I {} my savings account? | top up | withdraw from | What's the way to {} my savings?
How many cards did we {} after the fraud alert? | freeze | unfreeze
Which accounts had their credit limit {} last month? | increased | decreased | Show accounts whose credit limit was {} in the previous month
Show me the {} for March | cash inflows | cash outflows
What were our {} on the bond portfolio? | gains | losses
How many loans were {} in Q4? | approved | declined | How many loan applications got {} in Q4?
Which customers {} the fund this year? | paid into | withdrew from
How many direct debits were {} this month? | set up | cancelled
How do I {} overdraft protection? | add | remove
List invoices that are {} | overdue | paid on time
How much did the central bank {} rates by? | raise | cut
Which branches had cash {} above 1 million last week? | deposits | withdrawals
How many clients {} their mortgage early? | paid off | defaulted on
What's the fee to {} a wire transfer? | send | recall
How many accounts did we {} last quarter? | open | close
Which positions should we {} before earnings? | build up | unwind
How do I {} a standing order? | create | cancel
Which customers did we {} premium banking? | upgrade to | downgrade from
How much did we {} the bad-debt provision? | increase | release
What was our net {} in the bond fund? | buying | selling
How many payments were {} by the fraud team? | released | held
How do I {} a joint account holder? | add | remove
How many merchants did we {} for chargebacks? | onboard | offboard
# ---- insurance
How many claims did we {} last month? | pay out | deny | How many claims were {} in the previous month?
How do I {} my car policy? | add a driver to | remove a driver from
Which policies were {} in April? | renewed | lapsed
How many policyholders {} their coverage this year? | increased | reduced
Why did the underwriter {} the premium? | raise | lower
How many claims were {} to fraud review? | escalated | cleared
Which riders can I {} my life policy? | add to | drop from
How many quotes {} into policies last week? | converted | expired
How do I {} my home insurance before moving? | start | cancel
Which brokers did we {} the panel? | appoint to | remove from
How many policies did we {} after the flood? | write | cancel
When can I {} my deductible? | raise | lower
# ---- healthcare admin
How many patients were {} yesterday? | admitted | discharged | What's the count of patients {} yesterday?
Which appointments were {} by the clinic this week? | booked | cancelled
How many nurses did we {} the ICU? | move into | pull out of
How do I {} a patient on the waitlist? | put | take off
Which doctors {} new patients right now? | accept | turn away
How many prescriptions were {} last month? | started | stopped
Which referrals did the GP {} this quarter? | approve | reject
How many beds did the hospital {} this winter? | open | close
How do I {} a patient's consent for data sharing? | record | withdraw
Which staff had their rota hours {}? | increased | cut
How many vaccinations did the clinic {} this week? | give | postpone
Which wards are {} visitors this week? | allowing | banning
How many patients {} the trial? | enrolled in | dropped out of
# ---- logistics
How many trucks did we {} the north route? | add to | pull off
Show {} for the Rotterdam hub yesterday | arrivals | departures
How many containers did we {} at the port this week? | load | unload
Which shipments were {} at customs? | cleared | held
How do I {} a delivery slot? | book | release
How many parcels were {} to the sender? | delivered | returned
Which carriers should we {} for the holiday peak? | add | drop
How many pallets did the DC {} today? | receive | dispatch
Which routes should we {} next quarter? | extend | cut back
How many drivers {} the fleet app this month? | signed up for | uninstalled
Which warehouses are {} capacity? | gaining | losing
How many orders were {} the Leeds depot? | rerouted to | diverted away from
Which suppliers did we {} lead times with? | shorten | lengthen
How many returns were {} at the hub? | inspected | scrapped
# ---- education
How many students {} the course after week 2? | joined | dropped
Which pupils were {} to the next year? | promoted | held back
How do I {} a student in Canvas? | enroll | unenroll
How many applicants did we {} this cycle? | admit | reject
Which classes should we {} next term? | add | cancel
How many teachers {} their contracts this year? | renewed | ended
Which scholarships did the school {} this year? | award | withdraw
How do I {} a grade in the gradebook? | lock | unlock
How many students were {} after the hearing? | reinstated | expelled
Which modules are we {} for next year? | introducing | phasing out
How many parents {} the school app? | installed | deleted
# ---- manufacturing
Which lines should we {} next shift? | ramp up | wind down | Next shift, which lines do we {}?
How many units did QA {} this week? | pass | reject
How do I {} the conveyor speed on line 3? | increase | decrease
Which suppliers did we {} after the audit? | qualify | disqualify
How many machines did we {} for maintenance? | bring online | take offline
Which batches were {} by quality? | released | quarantined
How much did we {} the production target for May? | raise | lower
How many shifts are we {} at the Ohio plant? | adding | cutting
Which parts did engineering {} in the new revision? | add | remove
Which plants should we {} overtime at? | allow | stop
How many lots were {} the market? | released to | recalled from
# ---- energy / utilities
How many homes were {} the grid yesterday? | connected to | disconnected from
How much power did we {} the grid in July? | export to | import from
Which substations should we {} for the storm? | energize | de-energize
How many customers had supply {} this week? | restored | cut off
Which plants are we {} next year? | commissioning | decommissioning
How do I {} my smart meter readings? | share | stop sharing
Which tariffs did we {} this quarter? | introduce | withdraw
How much did we {} the gas price in October? | raise | cut
How many turbines were {} during the storm? | spun up | shut down
Which customers should we {} the priority list? | add to | remove from
How many meters were {} this month? | installed | removed
# ---- real estate
How many units did we {} last month? | lease | vacate
Which tenants {} their leases this year? | renewed | terminated
How much did we {} rent on the downtown block? | raise | cut
Which properties should we {} this year? | acquire | sell off
How many listings were {} the market last month? | put on | taken off
How do I {} a tenant's deposit? | collect | refund
Which buildings are we {} for sale? | listing | delisting
How many viewings were {} this week? | booked | cancelled
Which landlords {} the rent cap? | accepted | opposed
How many mortgages did we {} in the city? | originate | foreclose on
# ---- marketing / ads
Which campaigns should we {} this week? | scale up | pause | This week, which campaigns do we {}?
How much did we {} the Google Ads budget? | increase | cut
Which keywords should we {} the campaign? | add to | exclude from
How many users {} push notifications? | opted into | opted out of
Which audiences should we {} retargeting? | include in | exclude from
How many influencers did we {} this quarter? | sign | drop
Which ads did Meta {} last week? | approve | reject
How do I {} a lookalike audience? | create | delete
Which channels should we {} spend on? | double down | pull back
How many emails were {} by spam filters? | let through | blocked
How many followers did we {} after the rebrand? | gain | lose
Which creatives should we {} in rotation? | keep | retire
# ---- legal / contracts
How do I {} a clause in the master agreement? | add | strike
Which contracts should we {} this quarter? | renew | terminate
How many NDAs did legal {} this month? | sign | reject
Which obligations did we {} under the settlement? | assume | waive
How do I {} a power of attorney? | grant | revoke
Which lawsuits did we {} this year? | file | drop
How many patents did we {} in 2023? | file | abandon
Which vendors did we {} the contract? | add to | release from
How many claims did the court {}? | uphold | dismiss
Which terms should we {} in the renewal? | tighten | loosen
How do I {} a contract's auto-renewal? | turn on | opt out of
# ---- travel / hospitality
How do I {} my hotel booking? | confirm | cancel
How many rooms did we {} for the conference? | block | release
Which flights were {} because of the strike? | added | cancelled
How many guests {} early yesterday? | checked in | checked out
How do I {} my seat upgrade? | accept | decline
Which routes is the airline {} next summer? | launching | dropping
How many guests did we {} because of overbooking? | upgrade | bump
How do I {} my ticket? | add extra baggage to | remove extra baggage from
How much did we {} room rates for the festival? | raise | discount
Which hotels did we {} our partner list? | add to | remove from
How many passengers were {} at the gate? | boarded | denied boarding
# ---- telecom
How many lines did we {} last month? | activate | suspend
How do I {} international roaming? | turn on | turn off
How many numbers were {} this quarter? | ported in | ported out
Which towers should we {} capacity on? | add | reduce
How do I {} a SIM card? | unlock | block
How many users {} to the 5G plan? | upgraded | downgraded
Which data add-ons can I {} mid-cycle? | add | cancel
How many customers did we {} after the non-payment review? | reconnect | disconnect
Why did we {} the data cap? | raise | lower
Which numbers should we {} on the switch? | route | block
# ---- government / public services
How many permits did the city {} in 2023? | issue | revoke
Which benefits were {} after the review? | granted | withdrawn
How do I {} my voter registration? | activate | cancel
How many licences were {} last quarter? | renewed | suspended
Which roads did the council {} this week? | open | close
How many visas were {} in March? | approved | refused
Which schools did the county {} funding for? | increase | cut
How do I {} my passport? | renew | cancel
How many benefit claims were {} on appeal? | upheld | overturned
Which taxes did parliament {} in the budget? | raise | lower
How many fines were {} by the court? | imposed | waived
# ---- gaming
Which players did we {} ranked matches? | let back into | ban from
How many players {} the season pass? | bought | refunded
Which weapons should we {} in the next patch? | buff | nerf
How do I {} cross-play? | enable | disable
How many servers should we {} for launch? | spin up | shut down
Which players were {} to Diamond this week? | promoted | demoted
How many items did players {} on the market? | list | delist
Which events should we {} this weekend? | extend | end early
How many players {} the guild last month? | joined | left
How much XP do players {} per match? | gain | lose
# ---- agriculture
Which fields should we {} this spring? | plant | leave fallow
How much did we {} fertilizer use on the north farm? | increase | reduce
How many cattle did we {} this month? | buy | sell
Which greenhouses should we {} the heating in? | turn up | turn down
How many hectares did we {} last year? | irrigate | stop irrigating
Which crops did we {} the rotation? | add to | drop from
How much did we {} grain storage? | expand | shrink
How many hives did the farm {} this season? | add | lose
When should we {} the sprinklers in zone 4? | switch on | switch off
# ---- media / publishing
Which articles should we {} this month? | put behind the paywall | make free to read
How many subscribers {} the digital edition? | signed up for | cancelled
Which episodes did we {} the platform? | add to | pull from
How do I {} comments on a post? | enable | disable
Which authors did we {} this year? | sign | drop
How many titles did we {} this season? | publish | withdraw
How many videos were {} by moderation? | approved | taken down
Which stories should we {} on the homepage? | feature | bury
How do I {} a correction on the article? | add | remove
Which podcasts did we {} this quarter? | launch | cancel
# ---- personal / everyday
How do I {} my phone's screen brightness? | turn up | turn down
How do I {} notifications from WhatsApp? | turn on | mute
How much should I {} my thermostat at night? | raise | lower
How do I {} a friend on Facebook? | add | unfriend
How can I {} my credit score? | build | damage
How do I {} my gym membership? | start | cancel
What's the best way to {} a car battery? | charge | drain
How do I {} a package delivery? | speed up | delay
How do I {} my Netflix subscription? | upgrade | downgrade
How do I {} auto-renew on Spotify? | turn on | turn off
How can I {} my screen time? | increase | cut down
How do I {} my Airbnb listing? | activate | snooze
Should I {} my router firmware? | update | roll back
How do I {} someone on Instagram? | follow | block
How can I {} my home Wi-Fi? | secure | open up
How do I {} dark mode in Chrome? | enable | disable
How do I {} my monthly savings? | boost | pause
# ---- extra pairs (mixed domains)
How many shares did the company {} in 2023? | buy back | issue
Should we {} the password policy? | tighten | relax
How do I mark every email in a folder as {}? | read | unread
How do I {} a channel in Teams? | mute | unmute
How do I {} on the dashboard chart? | zoom in | zoom out
How long does it take to {} the pool? | fill | drain
How do I {} a network drive on Linux? | mount | unmount
How do I {} the VPN client on a Mac? | install | uninstall
How do I {} Netflix on every device at once? | log into | log out of
How do I {} a file in SharePoint? | check in | check out
How do I {} all rows in the pivot table? | expand | collapse
How do I {} columns in Excel? | hide | unhide
How do I {} the budget sheet? | protect | unprotect
How do I {} a Google Doc with the finance team? | share | unshare
How do I {} a number on my iPhone? | block | unblock
How many tokens did we {} this month? | mint | burn
How do I {} a customer's card in Stripe? | charge | refund
Which accounts were {} yesterday? | debited | credited
How many library books were {} last week? | borrowed | returned
Which projects should we {} this quarter? | accelerate | put on hold
Which bugs should we {} this sprint? | prioritize | deprioritize
Which game projects did the studio {} this year? | greenlight | shelve
Which posts did users {} the most? | upvote | downvote
Which sectors should the portfolio {}? | overweight | underweight
Which stocks is the fund going {} on? | long | short
Which parts should we {} before the tariff hits? | stockpile | offload
Which functions should we {} next year? | insource | outsource
Should we {} procurement across the regions? | centralize | decentralize
Which duplicate accounts should we {} in the CRM? | merge | split
Which utilities did the government {} last decade? | nationalize | privatize
Which crops does the government {}? | subsidize | tax
How many birds did the farm {} this month? | vaccinate | cull
When should we {} the winter wheat? | sow | harvest
How much inventory did we {} last quarter? | write up | write down
Which software costs did we {} this year? | capitalize | expense
Which bonuses did finance {} in December? | accrue | reverse
Which stores are {} on weekends? | overstaffed | understaffed
Which hotels are {} for New Year's Eve? | overbooked | undersold
How do I {} a post on LinkedIn? | boost | hide
Which incidents should we {} right now? | escalate | de-escalate
How many tickets did agents {} today? | reopen | resolve
How do I {} a ticket in Jira? | assign | unassign
Which repos did we {} on GitHub? | star | unstar
How do I {} my bank account and PayPal? | link | unlink
How do I {} the CDN cache for the homepage? | warm up | purge
How long does it take to {} an A380? | board | deplane
How many passengers {} in Barcelona? | embarked | disembarked
How many tenants did we {} this year? | move in | evict
How many vacancies did we {} this month? | fill | create
Which funds {} the index last year? | outperformed | underperformed
Which regions {} their sales target? | beat | missed
Which reps {} quota in Q2? | exceeded | fell short of
Which months had a cash {}? | surplus | deficit
How many {} did we issue to Acme this year? | invoices | credit notes
Show {} for the Lisbon hotel this week | bookings | cancellations
Show me {} by month for the app | signups | account deletions
What are our {} against Competitor X this year? | wins | losses
How many accounts did we {} this quarter? | upsell | downsell
How many {} calls did the contact center handle? | inbound | outbound
How do I {} NPCs in the map editor? | spawn | despawn
Which regions should we {} for early access? | open up | close off
Which shows will the network {} next fall? | air | pull
How many copies did we {} of the first edition? | print | pulp
Which stories did we {} this week? | syndicate | retract
How do I {} the EV charger safely? | plug in | unplug
How much can I {} at an ATM per day? | deposit | withdraw
How many vacation days can staff {} at year end? | carry over | forfeit
Which expenses did finance {} last month? | reimburse | reject
How do I {} the sound on my TV? | boost | mute
How do I {} a meeting in Outlook? | accept | decline
What's the quickest way to {} the laptop fleet? | patch | roll back
How many users did we {} from the mailing list? | add to | purge from
Which suppliers should we {} payments to? | speed up | hold
# ---- second batch: new pairs in other domains
How do I {} my credit card for online purchases? | unlock | lock
How many trial users did we {} this week? | convert | lose
Which warehouses should we {} staff at next month? | add | cut
How do I {} the fan speed on the server rack? | ramp up | slow down
How many players {} the tournament? | entered | withdrew from
Which clinics should we {} hours at? | extend | reduce
How much did the council {} parking fees? | hike | slash
Which employees are {} for redundancy? | protected | selected
How many households {} the energy rebate? | claimed | opted out of
Which features should we {} in the free tier? | unlock | paywall
How many apprentices did we {} this year? | take on | let go
How do I {} water pressure in the shower? | boost | reduce
How many buses did the city {} on route 9? | add | withdraw
Which ports should we {} in the firewall? | open | close
How do I {} a recurring payment in PayPal? | set up | stop
How many field staff did we {} this week? | deploy | recall
Which markets should we {} next year? | enter | exit
How do I {} a teammate's edit rights in Notion? | grant | remove
How many seats did the airline {} on the Lisbon route? | add | cut
Which stock should we {} before the sale? | mark up | mark down
How many machines did IT {} last month? | image | wipe
Which bonus schemes did HR {} this year? | introduce | scrap
How many students did the school {} this week? | admit | suspend
How do I {} my phone's battery saver? | activate | deactivate
How many hectares did the farm {} this year? | reforest | clear
Which routes did the airline {} capacity on? | boost | trim
How do I {} a calendar invite? | send | retract
How many rows did the job {} from the table? | insert into | delete from
How do I {} a Git commit? | push | revert
Which alerts should we {} for the weekend? | turn on | suppress
How many invoices did we {} this month? | raise | void
How many cases did the lab {} today? | process | reject
How do I {} the volume on the conference room speaker? | raise | lower
How do I {} the free trial on my account? | start | end
How many users did we {} to the beta? | invite | kick out of
Which vendors should we {} from the approved list? | keep on | strike off
How do I {} my child's screen time limit? | loosen | tighten
How much did the fund {} its stake in Tesla? | increase | trim
How do I {} permissions on a shared folder? | widen | restrict
How many homes did the utility {} the water supply to? | restore | shut off
How many accounts did we {} after the phishing attack? | unlock | lock
Which regions should we {} prices in? | hike | cut
How do I {} my holiday request? | submit | withdraw
Which bugs did QA {} today? | reopen | close
How do I {} someone as a co-owner of the doc? | add | remove
Which suppliers did we {} credit terms for? | extend | shorten
How many contracts did we {} early? | renew | terminate
Which shipments did customs {} this week? | release | seize
How do I {} auto-save in Word? | turn on | turn off
Which orders should we {} to next-day delivery? | upgrade | downgrade
How do I {} location sharing with my family? | start | stop
How many tenants {} their rent this month? | paid | withheld
How do I {} a team member in Slack? | invite | deactivate
How many subscribers did the paper {} in 2024? | win | lose
# ---- third batch
How many agents did we {} the chat queue this morning? | move onto | pull off
Which API keys should we {} this week? | issue | revoke
How do I {} the screen recording permission for Zoom? | allow | deny
How many tables did the restaurant {} for tonight? | reserve | free up
Which ad sets should we {}? | shift budget toward | cut budget from
How many employees {} the early retirement offer? | took up | turned down
Which rules did the spam filter {} yesterday? | tighten | relax
How do I {} my fixed deposit? | roll over | break
How many stores did we {} self-checkout in? | roll out | remove
How many prescriptions did the pharmacy {} today? | fill | refuse
Which flights should we {} catering on? | add | drop
How many students {} free school meals this term? | qualified for | lost
Which customers should we {} the rate on? | lock in | float
How do I {} my Kindle subscription? | renew | stop
How many cameras did we {} in the car park? | install | take down
Which suppliers did we {} on payment terms? | speed up | slow down
How many seats should we {} for the webinar? | open up | cap
How do I {} a Chrome extension? | enable | remove
How much did the bank {} its dividend? | raise | slash
How many tenants did we {} rent arrears for? | write off | pursue
Which teams did we {} the budget for? | top up | claw back
How many drivers did the app {} last month? | activate | deactivate
Which machines should we {} first after the outage? | reboot | keep down
How do I {} remote desktop on Windows? | allow | block
How many ads did we {} in the magazine this month? | place | pull
Which wells did the company {} this year? | drill | cap
How many players {} their accounts last month? | verified | deleted
Which features did the product team {} in Q3? | ship | cut
How do I {} my bank's app notifications? | turn on | silence
Which lanes should we {} at the toll plaza? | open | shut
How many SIMs did we {} today? | activate | block
How do I {} a card from Apple Pay? | add | remove
How many suppliers did we {} in the tender? | shortlist | eliminate
Which loans should we {} interest on? | defer | accelerate
How do I {} the paywall on a story? | lift | apply
How many cows did we {} the dairy herd this year? | add to | cull from
How do I {} edits in a Word document? | accept | reject
How do I {} a meeting recording? | save | discard
How many sprinklers did we {} in zone 2? | turn on | shut off
Which servers should we {} maintenance mode? | take out of | keep in
How many patients were {} the ward this morning? | moved onto | moved off
Which tasks should we {} the roadmap? | pull into | drop from
"""


def generate(rng):
    entries = parse_lines(LEX)
    return substitution_traps(entries, "opposite_effect", rng, per_entry=2,
                              reword_cat="opposite_effect_reworded")


if __name__ == "__main__":
    rng = random.Random(1)
    es = parse_lines(LEX)
    print(len(es), "lines;", len(set((e[1].lower(), e[2].lower()) for e in es)), "distinct word pairs")
    print(len(generate(rng)), "pairs")
