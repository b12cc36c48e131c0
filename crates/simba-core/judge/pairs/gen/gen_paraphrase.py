"""paraphrase families (same_answer=true). Each blank-line separated block is
one question written in several registers (terse, chatty with backstory,
formal, non-native, typo'd, dictated). All pairs within a family are true."""
import itertools
import random
from common import parse_blocks, pair, style

FAMILIES = r"""
How many failed builds did we have on main last week?
failed builds main last week
So the CI has felt flaky lately and I want numbers: how many builds on main failed last week?
Could you provide the number of unsuccessful builds on the main branch during the previous week?
how much builds failed on main branch in last week

Which services have the highest error rate today?
services by error rate today, highest first
I'm on call and things look noisy, which of our services are throwing the most errors today?
Please identify the services with the greatest error rate today.
um which services got the most errors today

How long does a deploy to production usually take?
typical prod deploy duration
Our PM keeps asking me this so: roughly how long does a production deploy normally take?
What is the usual duration of a production deployment?
how many time take deploy to prod usually

Who is on call for the payments service this weekend?
payments on-call this weekend
Something's off with checkout and I need a human, who's on call for payments this weekend?
Kindly tell me who holds the on-call rotation for the payments service this weekend.
who is oncall payments this weekend?

How many open Jira tickets does the platform team have?
platform team open jira tickets count
I'm planning next sprint and want to know how many Jira tickets are still open for the platform team
What is the number of unresolved Jira tickets assigned to the platform team?
how many jira ticket is open for platform team

How many people did we hire in engineering in 2024?
engineering hires 2024
For the all-hands recap I need to know how many engineers we hired in 2024
What was the total number of engineering hires made during 2024?
so uh how many people did we hire into engineering in 2024

When is the next payroll run?
next payroll date
I changed my bank details yesterday so I'm wondering, when does payroll run next?
Could you confirm the date of the next payroll run?
when next payroll is running

How many vacation days do I have left this year?
my remaining PTO this year
I'm trying to plan a trip in October, how many days of annual leave do I still have for this year?
Please tell me my remaining annual leave balance for the current year.
how many holiday days i have left this year

What's the average salary for data analysts in the London office?
avg data analyst salary london office
I'm doing a pay equity review, what do data analysts in London earn on average?
What is the mean salary of data analysts based in our London office?
average pay data analysts london office pls

How many employees are on parental leave right now?
employees currently on parental leave
HR asked me for a quick number: how many of our staff are currently on parental leave?
What is the current number of employees on parental leave?
how many peoples are on parental leave now

What were our best-selling products last month?
top sellers last month
We're planning the newsletter and I'd like to feature winners, which products sold the most last month?
Please list the products with the highest sales volume in the previous month.
which product sold most last month

How many orders were returned in March?
march returns count
The warehouse says returns were crazy in March, how many orders actually came back that month?
What was the total number of returned orders in March?
how many order got returned in march?

What's our cart abandonment rate this week?
cart abandonment rate this week
I think the new checkout might be hurting us, what's the cart abandonment rate looking like this week?
What is the current week's shopping cart abandonment rate?
whats the abandon cart rate this week

Which stores ran out of stock on oat milk yesterday?
stores out of stock oat milk yesterday
A customer complained so I'm checking: which of our stores had no oat milk on the shelves yesterday?
Please identify the stores that were out of stock of oat milk yesterday.
what stores had zero oat milk yesterday

How much did customers spend on gift cards in December?
gift card sales december
For the holiday retro I need the total amount customers spent on gift cards in December
What was the total value of gift card purchases in December?
how much money people spend for gift cards in december

What's the balance on my checking account?
checking account balance
I'm about to pay rent and want to be sure, how much is in my checking account right now?
Could you tell me the current balance of my checking account?
how much money i have in checking

How many loan applications are pending review?
pending loan applications
The credit team seems swamped, how many loan applications are still waiting to be reviewed?
What is the number of loan applications awaiting review?
how many loan application still pending

What's the interest rate on a 30-year fixed mortgage?
30 yr fixed mortgage rate
We're thinking about buying a house, what rate do you charge on a 30-year fixed mortgage?
What interest rate applies to a 30-year fixed-rate mortgage?
um what's the rate for a thirty year fixed mortgage

Which branches had the most cash withdrawals last week?
branches with most cash withdrawals last week
Cash logistics wants to restock ATMs, which branches saw the most withdrawals last week?
Please rank the branches by number of cash withdrawals for the previous week.
which branch had most withdraw of cash last week

How many insurance claims are still open?
open claims count
Our adjusters are behind, how many claims haven't been closed yet?
What is the number of insurance claims that remain open?
how many claim are still open

What does my home insurance policy cover for water damage?
home policy water damage coverage
My kitchen pipe burst last night, what does my home insurance cover when it comes to water damage?
Please explain the water damage coverage under my home insurance policy.
what my home insurance cover for water damage

How many patients missed their appointments last week?
no-shows last week
Front desk says no-shows are up, how many patients didn't turn up for appointments last week?
What was the number of missed patient appointments in the previous week?
how many patient not come to appointment last week

What's the average wait time in the emergency department?
ED average wait time
Local news is asking about delays, how long do people wait in our emergency department on average?
What is the mean waiting time in the emergency department?
avg wait in emergency dept

How do I book a follow-up appointment for a patient?
book follow-up appointment patient
I'm new on reception and a patient just asked, how do I schedule their follow-up appointment?
What is the procedure for booking a patient's follow-up appointment?
how to make follow up appointment for patient

Where is shipment 88123 right now?
shipment 88123 location
The customer has emailed twice already, can you tell me where shipment 88123 currently is?
Please provide the current location of shipment 88123.
where shipment 88123 is now

What's the ETA for the container on the Maersk Kobe?
ETA container Maersk Kobe
Our production line is waiting on parts, when is the container on the Maersk Kobe expected to arrive?
What is the expected arrival time of the container aboard the Maersk Kobe?
when container on maersk kobe arriving

How many deliveries were late last month?
late deliveries last month
I've got a carrier review on Thursday, how many of our deliveries arrived late last month?
What was the number of late deliveries in the previous month?
how many delivery was late last month

How many students are enrolled in Biology 101?
bio 101 enrollment
Planning the lab sessions, how many students have signed up for Biology 101?
What is the current enrollment in Biology 101?
how many student in biology 101

When is the deadline to submit final grades?
final grades deadline
I'm behind on marking so quick check, when do final grades have to be submitted?
Could you confirm the deadline for final grade submission?
when is last day for submit final grades

What's the average GPA of this year's graduating class?
avg GPA graduating class this year
For the commencement speech I want a stat: what's the average GPA of this year's graduates?
What is the mean GPA of the current graduating class?
whats the average gpa for graduates this year

What was the scrap rate on line 2 yesterday?
line 2 scrap rate yesterday
The shift lead thinks something's off with line 2, what was its scrap rate yesterday?
Please report the scrap rate for production line 2 for yesterday.
how much scrap line 2 had yesterday, the rate

How many units did the Ohio plant produce last week?
ohio plant output last week
Supply planning is asking, how many units came off the lines at the Ohio plant last week?
What was the production volume of the Ohio plant in the previous week?
how many unit ohio plant make last week

When is the next scheduled maintenance for press 7?
press 7 next maintenance
Press 7 has been making a weird noise, when is it next scheduled for maintenance?
What is the date of the next planned maintenance for press 7?
when press 7 maintenance next

What was our peak electricity demand in July?
peak demand july
The grid operator wants our numbers, what was the highest electricity demand we hit in July?
What was the maximum electricity demand recorded in July?
what was the peak power demand in july

How many customers were affected by the outage on Tuesday?
customers affected tuesday outage
The press office needs a figure, how many customers lost power in Tuesday's outage?
What was the number of customers impacted by Tuesday's outage?
how many customer had outage on tuesday

How do I submit a meter reading?
submit meter reading
I just got a letter saying my bill is estimated, how do I send you a meter reading?
What is the procedure for submitting a meter reading?
how can i give my meter reading

How many units are vacant in the Elm Street building?
vacant units elm street
I'm meeting a prospective tenant tomorrow, how many apartments are empty at the Elm Street building?
What is the number of vacant units in the Elm Street property?
how many apartment is empty in elm street building

What's the average rent per square foot downtown?
avg rent per sq ft downtown
We're pricing a new lease, what's the average rent per square foot in the downtown area?
What is the mean rent per square foot for downtown properties?
average rent per square feet downtown please

When does the lease for unit 12A expire?
unit 12A lease expiry
The tenant in 12A asked about renewing, when does their lease end?
Could you tell me the expiration date of the lease on unit 12A?
when lease of 12a finish

What was the click-through rate on the spring campaign?
spring campaign CTR
The CMO wants a quick update, what click-through rate did the spring campaign get?
What was the click-through rate achieved by the spring campaign?
what ctr spring campaign had

How much did we spend on LinkedIn ads in Q1?
linkedin ad spend Q1
Finance is reconciling invoices, how much did we spend on LinkedIn advertising in the first quarter?
What was our total LinkedIn advertising expenditure in Q1?
how much money we spent linkedin ads q1

Which blog posts brought in the most signups?
blog posts by signups
I'm planning content for next quarter, which of our blog posts drove the most signups?
Please identify the blog posts that generated the most signups.
what blog post give most signups

When does the contract with Globex renew?
globex contract renewal date
Procurement wants to renegotiate, when is the Globex contract up for renewal?
What is the renewal date of our contract with Globex?
when globex contract renewing

Which contracts have a termination for convenience clause?
contracts with termination for convenience
We might exit a few vendors, which of our contracts include a termination for convenience clause?
Please list the contracts containing a termination for convenience clause.
what contracts have clause for terminate for convenience

How many NDAs are waiting for signature?
NDAs pending signature
Legal ops is doing a cleanup, how many NDAs are still waiting to be signed?
What is the number of NDAs awaiting signature?
how many nda still not signed

What's the occupancy rate at our Lisbon hotel this month?
lisbon hotel occupancy this month
The owners call tomorrow, how full has the Lisbon hotel been this month?
What is the occupancy rate of the Lisbon property for the current month?
how much occupancy lisbon hotel this month

How do I change the name on my flight booking?
change name on flight booking
I booked a ticket for my mom and misspelled her name, how can I change the name on the booking?
What is the procedure for amending the passenger name on a flight booking?
how change name on my flight ticket

What time is check-out at the hotel?
hotel checkout time
We have a late flight tomorrow so I'm wondering, what time do we have to check out?
Could you tell me the hotel's check-out time?
what time checkout is

How much data have I used this month?
my data usage this month
I keep getting warnings on my phone, how much mobile data have I used so far this month?
What is my data consumption for the current month?
how many data i used this month

Why is my phone bill higher this month?
phone bill higher this month why
I usually pay around 40 and this month it's 65, why did my phone bill go up?
Could you explain why my phone bill is higher this month?
why my bill is more expensive this month

How many customers have fiber broadband in Leeds?
fiber customers leeds
We're planning a marketing push up north, how many people in Leeds are on our fiber broadband?
What is the number of fiber broadband customers in Leeds?
how many customer have fibre in leeds

How do I renew my driver's license?
renew driver's license
Mine expires next month and I've never done this before, how do I renew my driver's license?
What is the process for renewing a driver's license?
how to renew my driving licence

How many building permits did the city issue last year?
building permits issued last year
I'm writing a piece on housing, how many building permits did the city hand out last year?
What was the number of building permits issued by the city in the previous year?
how many building permit city gave last year

When is the deadline to file my property tax?
property tax filing deadline
I always leave this too late, when is the property tax deadline?
Please confirm the deadline for filing property tax.
when i must file property tax

How many daily active players did we have yesterday?
DAU yesterday
The live ops team is asking about the weekend event, how many daily active players did we have yesterday?
What was yesterday's number of daily active players?
how many player active yesterday

Which game mode is most popular this season?
most popular game mode this season
We're deciding what to work on next, which game mode are people playing the most this season?
Which game mode has the highest popularity this season?
what game mode people play most this season

How much revenue did the holiday skin bundle make?
holiday skin bundle revenue
Marketing is asking if the bundle was worth it, how much money did the holiday skin bundle bring in?
What was the total revenue generated by the holiday skin bundle?
how much money holiday skins bundle made

What was the wheat yield per hectare last season?
wheat yield per hectare last season
The co-op wants to compare farms, what was our wheat yield per hectare last season?
What was the per-hectare wheat yield in the previous season?
how much wheat per hectare we got last season

When should I spray the apple orchard for scab?
apple scab spray timing
It's been a wet spring and I'm worried, when should I spray the orchard for apple scab?
What is the recommended timing for spraying apple trees against scab?
when to spray apple trees for scab

How many litres of milk did the herd produce last week?
herd milk output last week
The dairy buyer is asking, how much milk did our herd give last week in litres?
What was the herd's milk production in litres during the previous week?
how many liter milk cows gave last week

How many new subscribers did the newsletter get last month?
newsletter new subscribers last month
The editor wants to celebrate growth, how many new newsletter subscribers did we get last month?
What was the number of new newsletter subscribers in the previous month?
how many new subscriber newsletter got last month

Which articles had the most page views this week?
most viewed articles this week
I'm putting together the weekly roundup, which articles got the most views this week?
Please list the articles with the highest page views for the current week.
what articles most read this week

When is the manuscript for the spring title due?
spring title manuscript due date
The author emailed asking for more time, when was the manuscript for the spring title due?
What is the due date for the spring title's manuscript?
when is manuscript due for spring book

How do I reset my email password?
reset email password
I got locked out after too many attempts, how do I reset the password for my email?
What is the procedure for resetting my email password?
how i can reset password of my email

What's the weather going to be like tomorrow?
weather tomorrow
I'm thinking of biking to work, what's the weather forecast for tomorrow?
Could you tell me tomorrow's weather forecast?
how weather will be tomorrow

How long should I boil an egg for a runny yolk?
boil egg runny yolk time
Making breakfast for the kids, how long do I boil an egg if I want the yolk runny?
What is the correct boiling time for an egg with a runny yolk?
how many minutes boil egg for soft yolk

How do I connect my phone to the car's Bluetooth?
phone car bluetooth pairing
Just got a new car and can't figure it out, how do I pair my phone with its Bluetooth?
What is the procedure for connecting a phone to a car via Bluetooth?
how connect phone bluetooth to car

What's a good gift for a 10-year-old who likes science?
science gift for 10 year old
My nephew turns ten next week and he's into science, what would be a good present?
What would be a suitable gift for a ten-year-old interested in science?
gift idea 10 years boy likes science

How many days until my passport expires?
days until passport expiry
I'm booking a trip for next spring, how long until my passport expires, in days?
What is the number of days remaining before my passport expires?
how many days left before my passport expire

How much did we spend on AWS last month?
aws spend last month
Finance flagged the cloud bill, how much did AWS cost us last month?
What was our total AWS expenditure in the previous month?
how much aws costed last month

Which API endpoints are the slowest?
slowest api endpoints
Users say the app feels sluggish, which of our API endpoints take the longest to respond?
Please identify the API endpoints with the highest response times.
what endpoints are most slow

What's the headcount of the Berlin office?
berlin office headcount
Facilities is planning desk space, how many people work out of the Berlin office?
What is the number of employees in the Berlin office?
how many people berlin office has

Who approves expense reports over 5,000 dollars?
approver for expenses over 5k
I've got a big conference bill to submit, who needs to approve expense reports above 5,000 dollars?
Who is the approver for expense reports exceeding 5,000 dollars?
who approve expense report more than 5000 dollar

How many SKUs do we carry in the shoes category?
shoe SKUs count
I'm reviewing the assortment, how many different SKUs are we carrying in shoes?
What is the number of SKUs in the shoes category?
how many sku we have for shoes

What's the chargeback rate for card payments?
card chargeback rate
Our processor sent a warning letter, what's our chargeback rate on card payments?
What is the chargeback rate on card transactions?
whats chargeback rate on cards

How many policies lapsed last quarter?
lapsed policies last quarter
Retention is a focus this year so, how many policies lapsed in the last quarter?
What was the number of policies that lapsed during the previous quarter?
how many policy lapse last quarter

What's the bed occupancy in the cardiology ward?
cardiology ward bed occupancy
We might need to divert admissions, how full is the cardiology ward right now?
What is the current bed occupancy of the cardiology ward?
how many beds are full in cardiology

How many pallets are waiting at the loading dock?
pallets at loading dock
The dock looks packed from here, how many pallets are sitting at the loading dock right now?
What is the number of pallets currently awaiting at the loading dock?
how many pallet are waiting on dock

What's the dropout rate for the online MBA?
online MBA dropout rate
The dean is worried about retention, what share of online MBA students drop out?
What is the dropout rate of the online MBA program?
how much students drop the online mba, rate

What's the overall equipment effectiveness of the bottling line?
bottling line OEE
The plant manager wants a number for the review, what's the OEE on the bottling line?
What is the overall equipment effectiveness of the bottling line?
whats oee bottling line

How much solar power did we generate yesterday?
solar generation yesterday
It was sunny all day so I'm curious, how much solar energy did we produce yesterday?
What was the total solar power generation yesterday?
how much solar we made yesterday

What's the average days on market for listings in Austin?
avg days on market austin
A seller wants to know how long their house might sit, how many days do Austin listings usually stay on the market?
What is the mean number of days on market for Austin listings?
how many days houses stay on market in austin average

What's the cost per acquisition for paid search?
paid search CPA
Budget planning is next week, what does it cost us to acquire a customer through paid search?
What is the cost per acquisition for paid search?
how much cost per acquisition for search ads

Which contracts expire in the next 90 days?
contracts expiring next 90 days
I want to get ahead of renewals, which contracts are set to expire within the next 90 days?
Please list the contracts expiring within the coming 90 days.
what contract finish in next 90 days

How many guests have checked in today?
check-ins today
Housekeeping wants to plan turnovers, how many guests have checked in so far today?
What is the number of guest check-ins today?
how many guest checked in today

How many dropped calls were there on the network yesterday?
dropped calls yesterday
Complaints are up on social media, how many calls dropped on our network yesterday?
What was the number of dropped calls on the network yesterday?
how many call dropped yesterday

How long does it take to get a new passport?
passport processing time
I have a trip in two months and my passport is expired, how long does it take to get a new one?
What is the processing time for a new passport?
how much time for new passport

What's the average match length in ranked mode?
avg ranked match length
We're tuning matchmaking, how long does a ranked match last on average?
What is the mean duration of a ranked match?
how long ranked match take average

How much rain did the farm get last month?
rainfall last month farm
The crops look dry, how much rain fell on the farm last month?
What was the total rainfall at the farm in the previous month?
how much it rained on farm last month

What's the average time readers spend on an article?
avg time on article
The editors want to know if long-form works, how long do readers spend on an article on average?
What is the mean time readers spend per article?
how long people read one article average

How do I cancel my gym membership?
cancel gym membership
I moved across town and never go anymore, how do I cancel my gym membership?
What is the procedure for cancelling a gym membership?
how to stop my gym membership

Which customers haven't paid their invoices yet?
customers with unpaid invoices
Cash is tight this month so I'm chasing money, who still owes us on invoices?
Please list the customers with outstanding invoices.
which clients not paid invoice yet

How many people visited the website yesterday?
website visitors yesterday
The launch went out yesterday morning, so how many visitors did the site get that day?
What was the number of website visitors yesterday?
how many ppl came on website yesterday

When does the quarterly close happen?
quarter close date
I'm new to finance and trying to plan my time, when do we do the quarterly close?
Could you tell me when the quarterly financial close takes place?
when is the close for the quarter

What's the average time to hire for engineering roles?
eng time to hire avg
Leadership thinks recruiting is slow, how long does it take us on average to fill an engineering role?
What is the mean time-to-hire for engineering positions?
how long we need to hire engineer on average

Which suppliers deliver late most often?
suppliers with most late deliveries
I'm prepping for vendor reviews, which suppliers are most often late with deliveries?
Please identify the suppliers with the highest frequency of late deliveries.
what supplier is late most of the time

How much inventory do we have in the Reno warehouse?
reno warehouse inventory
I need to know if we can fulfil a big order, how much stock is sitting in the Reno warehouse?
What is the current inventory level at the Reno warehouse?
how much stock in reno warehouse

How many new accounts did we open last quarter?
new accounts opened last quarter
For the investor update I need the number of accounts we opened in the last quarter
What was the number of accounts opened during the previous quarter?
how many account we opened in last quarter

What's the premium for adding a teen driver to my policy?
premium to add teen driver
My son just passed his test, how much more will my car insurance cost if I add him?
What would the additional premium be for adding a teenage driver to my policy?
how much extra to put my teenager on car insurance

How many beds are free in the hospital right now?
free beds right now
The ambulance service is asking where to send people, how many hospital beds are available at the moment?
What is the current number of available hospital beds?
how many bed is free now in hospital

How many containers are stuck at customs?
containers held at customs
Our importer says there's a backlog, how many of our containers are currently held up in customs?
What is the number of containers currently held at customs?
how many container stuck in customs now

What percentage of students passed the state exam?
state exam pass rate
The board meets next week, what share of our students passed the state exam?
What was the pass rate on the state exam?
how many percent students passed state exam

How much downtime did line 5 have this week?
line 5 downtime this week
Maintenance swears line 5 is fine, how much time has it actually been down this week?
What is the total downtime for line 5 during the current week?
how long line 5 was down this week

What's my electricity usage compared to last month?
electricity usage vs last month
My bill looks high, how does my power use this month compare with last month?
How does my electricity consumption this month compare with the previous month?
my electric usage compare to last month

What's the cap rate on the Main Street property?
main street cap rate
An investor is interested, what capitalization rate is the Main Street property getting?
What is the capitalization rate for the Main Street property?
whats cap rate for main st building

What's our share of voice on social media?
social share of voice
The CMO loves this metric, what's our share of voice across social media?
What is our share of voice on social media platforms?
how much share of voice we have social

Who signed the Initech master services agreement?
signatory Initech MSA
Legal needs to know for a dispute, who put their signature on the master services agreement with Initech?
Who executed the master services agreement with Initech?
who is signing person on initech msa

What's the cancellation policy for the Rome hotel?
rome hotel cancellation policy
Our plans might change, what happens if we cancel the Rome hotel booking, what's the policy?
What is the cancellation policy of the Rome hotel?
what is policy for cancel rome hotel

How do I set up voicemail on my phone?
voicemail setup
I keep missing calls and people can't leave messages, how do I get voicemail working on my phone?
What are the steps for setting up voicemail on my phone?
how i activate voicemail on phone

How do I apply for a fishing licence?
fishing licence application
My dad and I want to go fishing this summer, how do I get a fishing licence?
What is the procedure for applying for a fishing licence?
how to get fishing license

How many players are in the queue for ranked right now?
ranked queue size now
Matchmaking feels slow tonight, how many people are waiting in the ranked queue right now?
What is the current number of players queued for ranked?
how much players waiting ranked queue now

How much fertilizer did we use on the east field this year?
east field fertilizer use this year
The agronomist is coming Monday, how much fertilizer has gone onto the east field this year?
What quantity of fertilizer has been applied to the east field this year?
how much fertiliser we put on east field this year

How many corrections did we publish last month?
corrections published last month
The standards editor wants to track accuracy, how many corrections did we run last month?
What was the number of corrections published in the previous month?
how many correction we published last month

How do I add a printer on my Mac?
add printer mac
The office got a new printer and my MacBook can't find it, how do I add it?
What is the procedure for adding a printer on a Mac?
how put printer on my macbook

How many orders are waiting to be picked?
orders awaiting picking
The afternoon rush just started, how many orders are still waiting for someone to pick them?
What is the number of orders awaiting picking?
how many order not picked yet

Which reps have the most deals in the pipeline?
reps by pipeline deal count
I'm planning coaching sessions, which sales reps have the most deals sitting in their pipeline?
Please rank the sales representatives by number of pipeline deals.
which sales rep have most deals in pipeline

How much do we pay in rent for the Chicago office?
chicago office rent
We're considering moving, how much are we paying for the Chicago office lease?
What is the rent we pay for the Chicago office?
how much rent chicago office costs us

What's the average handle time in the call centre?
call centre AHT
The ops director keeps mentioning efficiency, how long do our agents spend on a call on average?
What is the average handle time in the call centre?
how long agents take per call average

Which trains to Manchester are delayed this morning?
delayed manchester trains this morning
I have a meeting at ten, which of this morning's trains to Manchester are running late?
Please list the delayed trains to Manchester this morning.
what trains manchester delayed this morning

How many pending requests are there for council housing?
pending council housing requests count
I'm writing to my councillor, how many applications for council housing are still pending?
What is the number of pending applications for council housing?
how many application waiting for council house

How many units of the new console did we sell in launch week?
console launch week unit sales
The board wants to know if launch was a hit, how many of the new consoles did we sell in launch week?
What were unit sales of the new console during launch week?
how many new console sold on launch week

How many support tickets mention the new update?
tickets mentioning new update
Since we pushed the update people seem annoyed, how many support tickets bring it up?
What is the number of support tickets that reference the new update?
how many ticket talking about new update

What's the total payroll cost for March?
march payroll total
The CFO asked for a number before lunch, what did payroll cost us in total for March?
What was the total payroll expense for March?
how much we paid salaries in march total

Which products have the highest return rate?
products by return rate highest
We're reviewing quality issues, which products get sent back the most relative to sales?
Please identify the products with the highest return rates.
what product is returned most, by rate

How many customers have more than one account with us?
customers with multiple accounts
Compliance wants to check duplicates, how many customers hold more than one account with us?
What is the number of customers holding multiple accounts?
how many customer has 2 or more accounts

How long does it take to settle a car insurance claim?
car claim settlement time
Someone hit my car last week, how long does a car insurance claim usually take to settle?
What is the typical settlement time for a motor insurance claim?
how long car claim take to pay out

How many vaccinations did the clinic give this week?
clinic vaccinations this week
We're reporting to the health board, how many jabs has the clinic given out this week?
What is the number of vaccinations administered by the clinic this week?
how many vaccine the clinic did this week

What's the cheapest shipping option to Australia?
cheapest shipping to australia
I'm sending a small parcel to my sister in Sydney, what's the lowest cost way to ship it?
Which is the least expensive shipping option to Australia?
what is most cheap way to send to australia

How many teachers are off sick today?
teachers absent sick today
I'm arranging cover, how many teachers called in sick today?
What is the number of teachers on sick leave today?
how many teacher sick today

How much gas did the plant consume last month?
plant gas consumption last month
The energy bill looks off, how much gas did the plant use last month?
What was the plant's gas consumption in the previous month?
how much gas factory used last month

Which listings got the most inquiries this week?
most inquired listings this week
I want to know what buyers like, which of our listings got the most inquiries this week?
Please list the listings with the highest number of inquiries this week.
what listings had most questions this week

How do I unsubscribe from the marketing emails?
unsubscribe marketing emails
I'm getting three emails a day from you, how do I stop getting the marketing ones?
What is the procedure for unsubscribing from marketing emails?
how i stop marketing emails

How many contracts did we sign in Q2?
contracts signed Q2
Pulling together the sales recap, how many contracts got signed in the second quarter?
What was the number of contracts signed during Q2?
how many contract we signed in q2

What's the baggage allowance on a domestic flight?
domestic flight baggage allowance
Flying to see my folks next week, how much luggage can I bring on a domestic flight?
What is the baggage allowance for domestic flights?
how much bag i can take on domestic flight

How many roaming customers used data in France last week?
roaming data users france last week
Our partner network is invoicing us, how many of our roaming customers used data in France last week?
What was the number of roaming customers using data in France during the previous week?
how many roaming customer used data in france last week

How many in-game purchases were made yesterday?
in-game purchases yesterday
The monetization team wants a quick check, how many purchases did players make in the game yesterday?
What was the number of in-game purchases made yesterday?
how many purchase inside game yesterday

How long should I wait to water after planting grass seed?
watering after planting grass seed
I just seeded my lawn this morning, how long should I wait before watering it?
How long should one wait before watering newly planted grass seed?
when water grass after put seed
"""


def generate(rng, max_per_family=12):
    out = []
    fams = parse_blocks(FAMILIES)
    for fam in fams:
        combos = list(itertools.combinations(fam, 2))
        rng.shuffle(combos)
        for a, b in combos[:max_per_family]:
            out.append(pair(a, b, True, "paraphrase"))
        # two extra register-shifted pairs per family
        for _ in range(2):
            a, b = rng.sample(fam, 2)
            out.append(pair(style(a, rng), style(b, rng), True, "paraphrase"))
    return out


def bases():
    """First (canonical) variant of each family; used by other true generators."""
    return [f[0] for f in parse_blocks(FAMILIES)]


if __name__ == "__main__":
    ps = generate(random.Random(1))
    print(len(parse_blocks(FAMILIES)), "families;", len(ps), "pairs")
